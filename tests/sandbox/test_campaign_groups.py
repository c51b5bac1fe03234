"""Campaign groups: create, read, search, update, batch methods, delete and validation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import encode, sandbox_now_ms

DAY_MS = 86_400_000


def group_body(account: int, now_ms: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": f"urn:li:sponsoredAccount:{account}",
        "name": "Q3 UA",
        "runSchedule": {"start": now_ms + DAY_MS, "end": now_ms + 31 * DAY_MS},
        "status": "ACTIVE",
        "totalBudget": {"amount": "5000.00", "currencyCode": "USD"},
    }
    body.update(overrides)
    return body


async def create_group(api: httpx.AsyncClient, account: int, body: dict[str, Any]) -> int:
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["x-restli-id"])


def errors_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    return {
        e["input"]["inputPath"]["fieldPath"]: e["code"] for e in body["errorDetails"]["inputErrors"]
    }


async def test_create_headers(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups", json=group_body(account, seeded["now_ms"])
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    group_id = response.headers["x-restli-id"]
    assert group_id.isdigit()
    assert response.headers["x-linkedin-id"] == group_id
    assert response.headers["location"].endswith(f"/adCampaignGroups/{group_id}")
    state = (await sandbox.get("/_sandbox/state")).json()
    assert state["counts"]["campaign_groups"] == len(seeded["state"]["campaign_groups"]) + 1


async def test_get_group(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Test Account"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    body = (await api.get(f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}")).json()
    assert body["id"] == group_id
    assert body["account"] == f"urn:li:sponsoredAccount:{account}"
    assert body["test"] is True
    assert body["totalBudget"] == {"amount": "5000.00", "currencyCode": "USD"}
    assert body["version"] == {"versionTag": "1"}
    assert body["servingStatuses"] == ["CAMPAIGN_GROUP_START_DATE_HOLD"]
    assert body["changeAuditStamps"]["created"]["actor"] == "urn:li:person:sandbox-member-1"


async def test_batch_get(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    default = seeded["default_groups"][account]
    response = await api.get(f"/rest/adAccounts/{account}/adCampaignGroups?ids=List({default},1)")
    assert response.status_code == 200
    body = response.json()
    assert list(body["results"]) == [str(default)]
    assert body["results"][str(default)]["name"] == "Default Campaign Group"
    assert body["errors"]["1"]["status"] == 404
    assert body["statuses"] == {"1": 404}


async def test_search_sort_and_pages(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    created = [
        await create_group(
            api, account, group_body(account, seeded["now_ms"], name=f"G{i}", status="PAUSED")
        )
        for i in range(3)
    ]
    search = encode({"status": {"values": ["PAUSED"]}})
    base = f"/rest/adAccounts/{account}/adCampaignGroups?q=search&search={search}"
    first = (await api.get(f"{base}&sortOrder=DESCENDING&pageSize=2")).json()
    assert [g["id"] for g in first["elements"]] == [created[2], created[1]]
    token = first["metadata"]["nextPageToken"]
    second = (await api.get(f"{base}&sortOrder=DESCENDING&pageSize=2&pageToken={token}")).json()
    assert [g["id"] for g in second["elements"]] == [created[0]]
    assert "nextPageToken" not in second["metadata"]
    by_name = encode({"name": {"values": ["G1"]}})
    named = (
        await api.get(f"/rest/adAccounts/{account}/adCampaignGroups?q=search&search={by_name}")
    ).json()
    assert [g["id"] for g in named["elements"]] == [created[1]]


async def test_partial_update(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    path = f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}"
    patch = {"patch": {"$set": {"name": "Renamed", "status": "PAUSED"}}}
    response = await api.post(path, json=patch, headers={"X-RestLi-Method": "PARTIAL_UPDATE"})
    assert response.status_code == 204
    body = (await api.get(path)).json()
    assert body["name"] == "Renamed"
    assert body["status"] == "PAUSED"
    assert body["version"] == {"versionTag": "2"}
    assert "STOPPED" in body["servingStatuses"]


async def test_update_needs_header(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}",
        json={"patch": {"$set": {"name": "x"}}},
    )
    assert response.status_code == 400


async def test_batch_partial_update(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    body = {
        "entities": {
            str(group_id): {"patch": {"$set": {"status": "ARCHIVED"}}},
            "1": {"patch": {"$set": {"status": "ARCHIVED"}}},
        }
    }
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups?ids=List({group_id},1)",
        json=body,
        headers={"X-RestLi-Method": "BATCH_PARTIAL_UPDATE"},
    )
    assert response.status_code == 200
    result = response.json()
    assert result["results"] == {str(group_id): {"status": 204}}
    assert result["errors"]["1"]["status"] == 404
    group = (await api.get(f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}")).json()
    assert group["status"] == "ARCHIVED"


async def test_archive_reversible(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    path = f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}"
    headers = {"X-RestLi-Method": "PARTIAL_UPDATE"}
    for status in ("ARCHIVED", "ACTIVE"):
        response = await api.post(
            path, json={"patch": {"$set": {"status": status}}}, headers=headers
        )
        assert response.status_code == 204
    assert (await api.get(path)).json()["status"] == "ACTIVE"


async def test_status_change_rejected(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(api, account, group_body(account, seeded["now_ms"]))
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}",
        json={"patch": {"$set": {"status": "DRAFT"}}},
        headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "STATUS_CHANGE_NOT_ALLOWED"
    assert body["message"] == "status can't be changed from ACTIVE to DRAFT"
    assert body["errorDetailType"] == "com.linkedin.common.error.BadRequest"


async def test_delete_draft_only(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    active = await create_group(api, account, group_body(account, seeded["now_ms"]))
    draft = await create_group(api, account, group_body(account, seeded["now_ms"], status="DRAFT"))
    base = f"/rest/adAccounts/{account}/adCampaignGroups"
    refused = await api.delete(f"{base}/{active}")
    assert refused.status_code == 400
    assert refused.json()["code"] == "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS"
    assert (await api.delete(f"{base}/{draft}")).status_code == 204
    assert (await api.get(f"{base}/{draft}")).status_code == 404


async def test_missing_start(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(account, seeded["now_ms"], runSchedule={})
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_FIELD"
    assert errors_of(response) == {"/runSchedule/start": "MISSING_FIELD"}


async def test_multiple_failures(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Europe"]
    body = group_body(account, seeded["now_ms"], runSchedule={"start": seeded["now_ms"] + DAY_MS})
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "MULTIPLE_VALIDATIONS_FAILED"
    assert errors_of(response) == {
        "/totalBudget/currencyCode": "CURRENCY_MISMATCH",
        "/runSchedule/end": "MISSING_FIELD",
    }


async def test_start_in_past(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(
        account,
        seeded["now_ms"],
        runSchedule={"start": seeded["now_ms"] - DAY_MS, "end": seeded["now_ms"] + DAY_MS},
    )
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "DATE_TOO_EARLY"


async def test_end_before_start(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    now = seeded["now_ms"]
    body = group_body(account, now, runSchedule={"start": now + 2 * DAY_MS, "end": now + DAY_MS})
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.json()["code"] == "START_DATE_AFTER_END_DATE"


async def test_draft_start_passed(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    group_id = await create_group(
        api, account, group_body(account, seeded["now_ms"], status="DRAFT")
    )
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 2 * 86_400})
    path = f"/rest/adAccounts/{account}/adCampaignGroups/{group_id}"
    headers = {"X-RestLi-Method": "PARTIAL_UPDATE"}
    stale = await api.post(path, json={"patch": {"$set": {"name": "Later"}}}, headers=headers)
    assert stale.status_code == 400
    assert stale.json()["code"] == "DATE_TOO_EARLY"
    now = await sandbox_now_ms(sandbox)
    fresh = {"name": "Later", "runSchedule": {"start": now + DAY_MS, "end": now + 9 * DAY_MS}}
    response = await api.post(path, json={"patch": {"$set": fresh}}, headers=headers)
    assert response.status_code == 204


async def test_account_mismatch(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    other = seeded["accounts"]["Northwind UK"]
    body = group_body(other, seeded["now_ms"])
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 400
    assert errors_of(response) == {"/account": "INVALID_VALUE_FOR_FIELD"}


async def test_name_too_long(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(account, seeded["now_ms"], name="x" * 101)
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 400
    assert errors_of(response) == {"/name": "INVALID_VALUE_FOR_FIELD"}


async def test_amount_number_422(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(
        account, seeded["now_ms"], totalBudget={"amount": 19.9, "currencyCode": "USD"}
    )
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "message": "ERROR :: /totalBudget/amount :: 19.9 cannot be coerced to String",
        "status": 422,
    }


async def test_unknown_field_422(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(account, seeded["now_ms"], colour="blue")
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 422
    assert response.json()["message"] == (
        "ERROR :: /colour :: unrecognized field found but not allowed"
    )


async def test_bad_enum_422(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(account, seeded["now_ms"], status="LIVE")
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 422
    assert response.json()["message"] == 'ERROR :: /status :: "LIVE" is not an enum symbol'


async def test_version_gated_field(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = group_body(
        account, seeded["now_ms"], budgetOptimization={"bidStrategy": "MAXIMUM_DELIVERY"}
    )
    path = f"/rest/adAccounts/{account}/adCampaignGroups"
    old = await api.post(path, json=body, headers={"LinkedIn-Version": "202402"})
    assert old.status_code == 422
    assert "unrecognized field" in old.json()["message"]
    assert (await api.post(path, json=body)).status_code == 201


async def test_canceled_account(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Legacy"]
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups", json=group_body(account, seeded["now_ms"])
    )
    assert response.status_code == 400
    assert response.json()["code"] == "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS"
