"""Campaigns (LinkedIn campaign groups) through the API, in dry-run and live mode."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.conftest import Service


def campaign_body(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "Spring UA",
        "status": "PAUSED",
        "startTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "endTime": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
        "lifetimeBudget": "1500.50",
    }
    body.update(changes)
    return body


async def account_with(service: Service, currency: str = "USD") -> str:
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    chosen = next(
        a
        for a in accounts
        if a["currency"] == currency and a["status"] == "ACTIVE" and not a["test"]
    )
    return str(chosen["id"])


async def sandbox_groups(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    state = (await sandbox.get("/_sandbox/state")).json()
    return (
        [group for group in state["campaign_groups"] if group["name"] != "Default Campaign Group"]
        if isinstance(state.get("campaign_groups"), list)
        else state
    )


async def write_requests(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    log = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": "/rest/adAccounts"})
    ).json()
    entries = log["requests"] if isinstance(log, dict) else log
    return [entry for entry in entries if entry["method"] == "POST"]


async def test_dry_run_create_never_calls_linkedin(
    service: Service, sandbox: httpx.AsyncClient
) -> None:
    await service.connect()
    account = await account_with(service)
    before = await write_requests(sandbox)
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/campaigns",
        json=campaign_body(),
        headers={"Idempotency-Key": "k-1"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dryRun"] is True
    assert body["id"].startswith("dryrun-")
    assert body["urn"] == f"urn:li:sponsoredCampaignGroup:{body['id']}"
    assert Decimal(body["lifetimeBudget"]) == Decimal("1500.50")
    assert body["currency"] == "USD"
    assert body["status"] == "PAUSED"
    assert await write_requests(sandbox) == before


async def test_dry_run_id_is_deterministic(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    body = campaign_body()
    first = await service.api.post(path, json=body, headers={"Idempotency-Key": "same"})
    again = await service.api.post(path, json=body, headers={"Idempotency-Key": "same"})
    other = await service.api.post(path, json=body, headers={"Idempotency-Key": "other"})
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["id"] != first.json()["id"]


async def test_dry_run_lifecycle(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    created = (await service.api.post(path, json=campaign_body())).json()
    campaign = f"{path}/{created['id']}"
    renamed = await service.api.patch(campaign, json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed"
    assert renamed.json()["dryRun"] is True
    for action, status in (("resume", "ACTIVE"), ("pause", "PAUSED"), ("archive", "ARCHIVED")):
        changed = await service.api.post(f"{campaign}/{action}")
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == status
    fetched = await service.api.get(campaign)
    assert fetched.json()["status"] == "ARCHIVED"
    assert fetched.json()["version"] == "5"


async def test_dry_run_rejects_what_linkedin_would(service: Service) -> None:
    await service.connect()
    eur = await account_with(service, "EUR")
    usd = await account_with(service)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        (eur, campaign_body(), "currency"),
        (usd, campaign_body(startTime=past), "startTime"),
        (usd, campaign_body(endTime=None), "endTime"),
    ]
    for account, body, field in cases:
        response = await service.api.post(f"/v1/ad-accounts/{account}/campaigns", json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["operation"] == "create_campaign_group"
        assert field in [item["field"] for item in error["fields"]], error


async def test_bad_input_names_field(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/campaigns",
        json=campaign_body(lifetimeBudget="-5", colour="red"),
    )
    assert response.status_code == 422
    fields = [item["field"] for item in response.json()["error"]["fields"]]
    assert "lifetimeBudget" in fields
    assert "colour" in fields


async def test_live_lifecycle_reaches_sandbox(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    created = await live_service.api.post(
        path, json=campaign_body(), headers={"Idempotency-Key": "live-1"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["dryRun"] is False
    assert body["id"].isdigit()
    campaign = f"{path}/{body['id']}"

    renamed = await live_service.api.patch(campaign, json={"name": "Spring UA v2"})
    assert renamed.json()["name"] == "Spring UA v2"
    statuses = []
    for action in ("resume", "pause", "resume", "archive"):
        response = await live_service.api.post(f"{campaign}/{action}")
        assert response.status_code == 200, response.text
        statuses.append(response.json()["status"])
    assert statuses == ["ACTIVE", "PAUSED", "ACTIVE", "ARCHIVED"]

    listed = (await live_service.api.get(path)).json()
    assert [item["status"] for item in listed if item["id"] == body["id"]] == ["ARCHIVED"]
    writes = await write_requests(sandbox)
    assert all(
        entry["headers"].get("idempotency-key") or entry["headers"].get("Idempotency-Key")
        for entry in writes
    ), writes
    updates = [entry for entry in writes if entry["path"].endswith(f"/{body['id']}")]
    assert len(updates) == 5
    assert all(
        (entry["headers"].get("x-restli-method") or entry["headers"].get("X-RestLi-Method"))
        == "PARTIAL_UPDATE"
        for entry in updates
    )


async def test_live_currency_mismatch_maps_fields(live_service: Service) -> None:
    await live_service.connect()
    eur = await account_with(live_service, "EUR")
    response = await live_service.api.post(f"/v1/ad-accounts/{eur}/campaigns", json=campaign_body())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "upstream_rejected"
    assert error["upstream"]["status"] == 400
    assert "currency" in [item["field"] for item in error["fields"]], error


async def test_status_change_not_allowed(live_service: Service) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    created = (await live_service.api.post(path, json=campaign_body())).json()
    response = await live_service.api.patch(f"{path}/{created['id']}", json={"status": "DRAFT"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "status"


async def test_list_reads_every_page(live_service: Service) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    before = len((await live_service.api.get(path)).json())
    for index in range(3):
        response = await live_service.api.post(path, json=campaign_body(name=f"Group {index}"))
        assert response.status_code == 201
    listed = (await live_service.api.get(path)).json()
    assert len(listed) == before + 3


async def test_dry_run_concurrent_duplicates(service: Service) -> None:
    import asyncio

    await service.connect()
    account = await account_with(service)
    path = f"/v1/ad-accounts/{account}/campaigns"
    body = campaign_body()
    responses = await asyncio.gather(
        *(service.api.post(path, json=body, headers={"Idempotency-Key": "burst"}) for _ in range(8))
    )
    assert [response.status_code for response in responses] == [201] * 8
    assert len({response.json()["id"] for response in responses}) == 1
    replayed = [response.headers.get("Idempotent-Replayed") for response in responses]
    assert replayed.count(None) == 1
