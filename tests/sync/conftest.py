"""Fixtures for sync tests: a member-1 sandbox client and helpers on the request log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.analytics.helpers import sandbox_api


@pytest.fixture
async def api(sandbox: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    client = await sandbox_api(sandbox)
    async with client:
        yield client


async def sandbox_requests(sandbox: httpx.AsyncClient, prefix: str) -> list[dict[str, Any]]:
    response = await sandbox.get("/_sandbox/requests", params={"path_prefix": prefix})
    return list(response.json()["requests"])


async def make_all_due(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE ad_accounts SET next_sync_at = now()"))


@pytest.fixture
async def backfill_account(
    live_service,
    sandbox: httpx.AsyncClient,  # type: ignore[no-untyped-def]
    api: httpx.AsyncClient,
) -> int:
    from tests.analytics.helpers import make_campaign, seeded_accounts

    us = (await seeded_accounts(sandbox))["Northwind US"]
    await make_campaign(api, us["id"], us["group"], "USD")
    await live_service.connect()
    return int(us["id"])


@pytest.fixture
def live_service_env(live_service, sandbox_server, backfill_account: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Environment for `python -m app.cli` against the test database, Redis and sandbox."""
    import os

    settings = live_service.app.state.settings
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LINKEDIN_ADS_API_BASE_URL": sandbox_server.url + "/rest",
        "LINKEDIN_ADS_OAUTH_BASE_URL": sandbox_server.url + "/oauth/v2",
        "LINKEDIN_ADS_RATE_LIMIT_TIER": "standard",
        "LINKEDIN_ADS_ENVIRONMENT": "test",
    }
