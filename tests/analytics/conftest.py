"""Fixtures for analytics tests: a member-1 sandbox client and two seeded accounts with data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from tests.analytics.helpers import (
    created_on,
    make_campaign,
    make_creative,
    sandbox_api,
    seeded_accounts,
)

CREATED = date(2025, 12, 1)


@pytest.fixture
async def api(sandbox: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    client = await sandbox_api(sandbox)
    async with client:
        yield client


@pytest.fixture
async def delivering(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> dict[str, Any]:
    """Northwind US (USD) and Northwind Europe (EUR), each with two campaigns and a creative."""
    accounts = await seeded_accounts(sandbox)
    result: dict[str, Any] = {}
    # Made before the reports' months (January to March 2026), so those days have data.
    async with created_on(sandbox, CREATED):
        for name, key in (("Northwind US", "us"), ("Northwind Europe", "eu")):
            account = accounts[name]
            campaigns = [
                await make_campaign(api, account["id"], account["group"], account["currency"])
                for _ in range(2)
            ]
            creative = await make_creative(api, account["id"], campaigns[0])
            result[key] = {**account, "campaigns": campaigns, "creative": creative}
    return result
