"""Helpers for analytics and sync tests: sandbox entities made over the sandbox's REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx

from tests.sandbox.helpers import mint_token, rest_headers

ACCOUNT_URN = "urn:li:sponsoredAccount:"
DAY_SECONDS = 86_400


@asynccontextmanager
async def created_on(sandbox: httpx.AsyncClient, day: date) -> AsyncIterator[None]:
    """Run the block with the sandbox clock on `day`, then move it forward to where it was.

    The sandbox reports delivery only from an entity's creation day on, so entities made in
    the block have data for the days from `day` to today.
    """
    now_ms = (await sandbox.get("/_sandbox/clock")).json()["now_ms"]
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    shift = (today - day).days * DAY_SECONDS
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": -shift})
    try:
        yield
    finally:
        await sandbox.post("/_sandbox/clock", json={"advance_seconds": shift})


async def sandbox_api(
    sandbox: httpx.AsyncClient,
    member: str = "sandbox-member-1",
) -> httpx.AsyncClient:
    token = await mint_token(sandbox, member)
    return httpx.AsyncClient(
        base_url=str(sandbox.base_url), timeout=30, headers=rest_headers(token)
    )


async def seeded_accounts(sandbox: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    state = (await sandbox.get("/_sandbox/state")).json()
    groups = {group["account"]: group["id"] for group in state["campaign_groups"]}
    return {
        account["name"]: {**account, "group": groups[account["id"]]}
        for account in state["accounts"]
    }


async def make_campaign(
    api: httpx.AsyncClient,
    account: int,
    group: int,
    currency: str,
    status: str = "ACTIVE",
    name: str = "Analytics host",
) -> int:
    body = {
        "account": f"{ACCOUNT_URN}{account}",
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group}",
        "name": name,
        "type": "SPONSORED_UPDATES",
        "costType": "CPM",
        "optimizationTargetType": "MAX_CLICK",
        "offsiteDeliveryEnabled": False,
        "politicalIntent": "NOT_POLITICAL",
        "locale": {"country": "US", "language": "en"},
        "dailyBudget": {"amount": "50", "currencyCode": currency},
        "unitCost": {"amount": "0", "currencyCode": currency},
        "targetingCriteria": {
            "include": {
                "and": [{"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:92000000"]}}]
            }
        },
        "status": status,
    }
    response = await api.post(f"/rest/adAccounts/{account}/adCampaigns", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["x-restli-id"])


async def make_creative(
    api: httpx.AsyncClient, account: int, campaign: int, status: str = "ACTIVE"
) -> str:
    body = {
        "campaign": f"urn:li:sponsoredCampaign:{campaign}",
        "content": {"reference": "urn:li:share:6778045555198214144"},
        "intendedStatus": status,
        "name": "Spring",
    }
    response = await api.post(f"/rest/adAccounts/{account}/creatives", json=body)
    assert response.status_code == 201, response.text
    return str(response.headers["x-restli-id"])


async def make_account(
    api: httpx.AsyncClient, name: str, reference: str, currency: str = "USD"
) -> int:
    response = await api.post(
        "/rest/adAccounts",
        json={"name": name, "reference": reference, "type": "BUSINESS", "currency": currency},
    )
    assert response.status_code == 201, response.text
    return int(response.headers["x-restli-id"])


async def count_rows(
    sandbox: httpx.AsyncClient,
    accounts: list[int],
    pivot: str,
    start: str,
    end: str,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"accounts": accounts, "pivots": [pivot], "start": start, "end": end}
    if fields is not None:
        body["fields"] = fields
    response = await sandbox.post("/_sandbox/analytics/rows", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())
