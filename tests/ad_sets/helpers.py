"""Request bodies and set-up steps shared by the ad set, ad and asset tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Service

US = "urn:li:geo:103644278"
GERMANY = "urn:li:geo:101282230"


async def account_with(service: Service, currency: str = "USD") -> str:
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    chosen = next(
        a
        for a in accounts
        if a["currency"] == currency and a["status"] == "ACTIVE" and not a["test"]
    )
    return str(chosen["id"])


def campaign_body(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "Parent campaign",
        "status": "ACTIVE",
        "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "endTime": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "lifetimeBudget": "5000",
    }
    body.update(changes)
    return body


def ad_set_body(campaign_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "campaignId": campaign_id,
        "name": "US engineers",
        "type": "SPONSORED_UPDATES",
        "format": "STANDARD_UPDATE",
        "objective": "WEBSITE_VISIT",
        "costType": "CPC",
        "bid": "5.50",
        "dailyBudget": "50",
        "startTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "endTime": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
        "locale": "en_US",
        "targeting": {
            "include": {"locations": [US]},
            "exclude": {"seniorities": ["urn:li:seniority:1"]},
        },
        "offsiteDeliveryEnabled": False,
        "politicalIntent": "NOT_POLITICAL",
        "creativeSelection": "OPTIMIZED",
        "status": "PAUSED",
    }
    body.update(changes)
    return body


async def create_campaign(service: Service, account: str, **changes: Any) -> str:
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/campaigns", json=campaign_body(**changes)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_ad_set(service: Service, account: str, campaign: str, **changes: Any) -> str:
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/ad-sets", json=ad_set_body(campaign, **changes)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upstream_requests(
    sandbox: httpx.AsyncClient, prefix: str, method: str = ""
) -> list[dict[str, Any]]:
    log = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": prefix, "method": method})
    ).json()
    return list(log["requests"])


def header(entry: dict[str, Any], name: str) -> str | None:
    headers = {key.lower(): value for key, value in entry["headers"].items()}
    return headers.get(name.lower())


def error_fields(response: httpx.Response) -> list[str]:
    return [item["field"] for item in response.json()["error"].get("fields", [])]
