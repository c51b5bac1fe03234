"""Campaign creates through the API in live mode: repeats, reused keys, races and lost responses.

LinkedIn (and the sandbox) ignore `Idempotency-Key`, so every guarantee here is the service's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Service


async def connect_usd_account(service: Service) -> int:
    await service.connect()
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    return next(int(item["id"]) for item in accounts if item["currency"] == "USD")


def create_body(name: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=1)
    return {
        "name": name,
        "status": "PAUSED",
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(days=30)).isoformat(),
        "lifetimeBudget": "2500.00",
    }


async def group_posts(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    log = (await sandbox.get("/_sandbox/requests", params={"method": "POST"})).json()["requests"]
    return [entry for entry in log if entry["path"].endswith("/adCampaignGroups")]


async def groups_named(sandbox: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    state = (await sandbox.get("/_sandbox/state")).json()
    return [group for group in state["campaign_groups"] if group.get("name") == name]


async def test_repeat_returns_first(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    account_id = await connect_usd_account(live_service)
    url = f"/v1/ad-accounts/{account_id}/campaigns"
    headers = {"Idempotency-Key": "create-once"}

    body = create_body("Once")
    first = await live_service.api.post(url, json=body, headers=headers)
    second = await live_service.api.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["dryRun"] is False
    assert len(await group_posts(sandbox)) == 1
    assert len(await groups_named(sandbox, "Once")) == 1


async def test_reused_key_other_body(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    account_id = await connect_usd_account(live_service)
    url = f"/v1/ad-accounts/{account_id}/campaigns"
    headers = {"Idempotency-Key": "reused"}

    first = await live_service.api.post(url, json=create_body("First"), headers=headers)
    other = await live_service.api.post(url, json=create_body("Other"), headers=headers)
    assert first.status_code == 201, first.text
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(await group_posts(sandbox)) == 1
    assert await groups_named(sandbox, "Other") == []


async def test_concurrent_duplicate(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    account_id = await connect_usd_account(live_service)
    url = f"/v1/ad-accounts/{account_id}/campaigns"
    headers = {"Idempotency-Key": "racing"}
    body = create_body("Race")
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"method": "POST", "path_regex": "adCampaignGroups$"}, "latency_ms": 1500},
    )

    first = asyncio.create_task(live_service.api.post(url, json=body, headers=headers))
    while not await group_posts(sandbox):
        await asyncio.sleep(0.05)
    second = await live_service.api.post(url, json=body, headers=headers)
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "conflict"
    assert int(second.headers["Retry-After"]) >= 1

    assert (await first).status_code == 201
    assert len(await group_posts(sandbox)) == 1
    assert len(await groups_named(sandbox, "Race")) == 1


async def test_drop_after_commit_one_group(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    account_id = await connect_usd_account(live_service)
    await sandbox.post(
        "/_sandbox/faults",
        json={
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "after_commit"},
        },
    )

    created = await live_service.api.post(
        f"/v1/ad-accounts/{account_id}/campaigns", json=create_body("Dropped")
    )
    assert created.status_code == 201, created.text
    groups = await groups_named(sandbox, "Dropped")
    assert [str(group["id"]) for group in groups] == [created.json()["id"]]
    assert len(await group_posts(sandbox)) == 1


async def test_read_back_failure_kept(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    account_id = await connect_usd_account(live_service)
    url = f"/v1/ad-accounts/{account_id}/campaigns"
    headers = {"Idempotency-Key": "read-back"}
    body = create_body("Unread")
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"method": "GET", "path_regex": r"adCampaignGroups/\d+$"}, "status": 503},
    )

    first = await live_service.api.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await live_service.api.post(url, json=body, headers=headers)
    assert again.json() == first.json()
    assert len(await group_posts(sandbox)) == 1
    assert [str(group["id"]) for group in await groups_named(sandbox, "Unread")] == [
        first.json()["id"]
    ]
