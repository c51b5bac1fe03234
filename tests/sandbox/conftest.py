"""Fixtures for the sandbox tests: a member token, an authorised API client and seeded ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import mint_token, rest_headers


@pytest.fixture
async def token(sandbox: httpx.AsyncClient) -> str:
    return await mint_token(sandbox)


@pytest.fixture
async def api(sandbox: httpx.AsyncClient, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the sandbox with member 1's token and the protocol headers."""
    # Plain HTTP on loopback: skipping the CA bundle saves about 80 ms per test.
    async with httpx.AsyncClient(
        base_url=str(sandbox.base_url), timeout=30, verify=False, headers=rest_headers(token)
    ) as client:
        yield client


@pytest.fixture
async def seeded(sandbox: httpx.AsyncClient) -> dict[str, Any]:
    """Seeded ids by name: accounts, their default groups, members' organizations."""
    state = (await sandbox.get("/_sandbox/state")).json()
    accounts = {account["name"]: account["id"] for account in state["accounts"]}
    groups = {group["account"]: group["id"] for group in state["campaign_groups"]}
    organizations = {member["urn"]: member["organizations"] for member in state["members"]}
    return {
        "accounts": accounts,
        "default_groups": groups,
        "organizations": organizations,
        "now_ms": state["clock"]["now_ms"],
        "state": state,
    }
