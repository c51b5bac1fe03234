"""Request bodies and set-up steps shared by the experiment tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.ad_sets.helpers import US, account_with, campaign_body
from tests.conftest import Service

GERMANY = "urn:li:geo:101282230"
FRANCE = "urn:li:geo:105015875"

__all__ = ["account_with", "create", "experiment_body", "sandbox_counts", "variant"]


def variant(
    key: str, location: str = US, share: str = "urn:li:share:1", ads: int = 1, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": key,
        "targeting": {"include": {"locations": [location]}},
        "ads": [{"content": {"reference": f"{share}{index}"}} for index in range(ads)],
    }
    body.update(changes)
    return body


def experiment_body(
    name: str = "Headline test", variants: list[dict[str, Any]] | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "campaign": campaign_body(name=f"{name} campaign", lifetimeBudget="3000"),
        "adSet": {
            "type": "SPONSORED_UPDATES",
            "format": "STANDARD_UPDATE",
            "objective": "WEBSITE_VISIT",
            "costType": "CPC",
            "bid": "5.50",
            "dailyBudget": "40",
            "startTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "endTime": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
            "offsiteDeliveryEnabled": False,
            "politicalIntent": "NOT_POLITICAL",
        },
        "variants": variants or [variant("A"), variant("B", GERMANY, "urn:li:share:2")],
    }
    body.update(changes)
    return body


async def create(
    service: Service, account: str, body: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/experiments", json=body or experiment_body(), headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def sandbox_counts(sandbox: httpx.AsyncClient) -> dict[str, int]:
    state = (await sandbox.get("/_sandbox/state")).json()
    return dict(state["counts"])
