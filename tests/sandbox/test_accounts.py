"""Ad accounts: search with cursor pages, criteria, get, access between members, account users."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import encode, mint_token, rest_headers

MEMBER_ONE_ACCOUNTS = [
    "Northwind US",
    "Northwind Europe",
    "Northwind UK",
    "Northwind Test Account",
    "Northwind Legacy",
    "Northwind Agency View",
]


async def test_search_all(api: httpx.AsyncClient) -> None:
    response = await api.get("/rest/adAccounts?q=search")
    assert response.status_code == 200
    body = response.json()
    assert [a["name"] for a in body["elements"]] == MEMBER_ONE_ACCOUNTS
    assert body["metadata"] == {}
    currencies = {a["name"]: a["currency"] for a in body["elements"]}
    assert currencies["Northwind Europe"] == "EUR"
    assert currencies["Northwind UK"] == "GBP"


async def test_seed_is_deterministic(api: httpx.AsyncClient, sandbox: httpx.AsyncClient) -> None:
    before = (await api.get("/rest/adAccounts?q=search")).json()["elements"]
    await sandbox.post("/_sandbox/reset")
    token = await mint_token(sandbox)
    after = (await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))).json()
    assert [a["id"] for a in before] == [a["id"] for a in after["elements"]]


async def test_cursor_pages(api: httpx.AsyncClient) -> None:
    names: list[str] = []
    token = None
    pages = 0
    while True:
        query = "q=search&pageSize=4" + (f"&pageToken={token}" if token else "")
        body = (await api.get(f"/rest/adAccounts?{query}")).json()
        names.extend(a["name"] for a in body["elements"])
        pages += 1
        token = body["metadata"].get("nextPageToken")
        if token is None:
            break
    assert pages == 2
    assert names == MEMBER_ONE_ACCOUNTS


async def test_page_size_max(api: httpx.AsyncClient) -> None:
    assert (await api.get("/rest/adAccounts?q=search&pageSize=1000")).status_code == 200
    response = await api.get("/rest/adAccounts?q=search&pageSize=1001")
    assert response.status_code == 400


async def test_bad_page_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/rest/adAccounts?q=search&pageToken=%21%21")
    assert response.status_code == 400


async def test_search_criteria(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    status = encode({"status": {"values": ["CANCELED"]}})
    body = (await api.get(f"/rest/adAccounts?q=search&search={status}")).json()
    assert [a["name"] for a in body["elements"]] == ["Northwind Legacy"]
    test = (await api.get("/rest/adAccounts?q=search&search=(test:true)")).json()
    assert [a["name"] for a in test["elements"]] == ["Northwind Test Account"]
    account = seeded["accounts"]["Northwind UK"]
    ids = encode({"id": {"values": [f"urn:li:sponsoredAccount:{account}"]}})
    by_id = (await api.get(f"/rest/adAccounts?q=search&search={ids}")).json()
    assert [a["id"] for a in by_id["elements"]] == [account]


async def test_double_encoded_id(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind UK"]
    urn = f"urn%253Ali%253AsponsoredAccount%253A{account}"
    response = await api.get(f"/rest/adAccounts?q=search&search=(id:(values:List({urn})))")
    assert response.status_code == 200
    assert response.json()["elements"] == []


async def test_get_account(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Test Account"]
    body = (await api.get(f"/rest/adAccounts/{account}")).json()
    assert body["id"] == account
    assert body["test"] is True
    assert body["type"] == "BUSINESS"
    assert body["servingStatuses"] == ["RUNNABLE"]
    assert body["version"] == {"versionTag": "1"}
    assert body["reference"].startswith("urn:li:organization:")


async def test_other_member_denied(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    other = seeded["accounts"]["Contoso Fitness"]
    response = await api.get(f"/rest/adAccounts/{other}")
    assert response.status_code == 403
    assert response.json()["code"] == "ACCESS_DENIED"
    groups = await api.get(f"/rest/adAccounts/{other}/adCampaignGroups?q=search")
    assert groups.status_code == 403


async def test_unknown_account(api: httpx.AsyncClient) -> None:
    response = await api.get("/rest/adAccounts/123")
    assert response.status_code == 404


async def test_account_users(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    body = (await api.get("/rest/adAccountUsers?q=authenticatedUser")).json()
    roles = {row["account"]: row["role"] for row in body["elements"]}
    viewer = seeded["accounts"]["Northwind Agency View"]
    assert roles[f"urn:li:sponsoredAccount:{viewer}"] == "VIEWER"
    assert body["paging"]["total"] == 6
    assert body["paging"]["count"] == 10
    assert all(row["user"] == "urn:li:person:sandbox-member-1" for row in body["elements"])


async def test_viewer_cannot_write(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Agency View"]
    body = {
        "account": f"urn:li:sponsoredAccount:{account}",
        "name": "Viewer group",
        "status": "DRAFT",
        "runSchedule": {"start": seeded["now_ms"] + 3_600_000},
    }
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 403
    assert response.json()["code"] == "NO_PERMISSION_TO_UPDATE"
