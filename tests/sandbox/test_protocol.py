"""Rules applied to every /rest call: version, token, scope, method, length and URL limits,
tracing headers, query tunnelling and the request log."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import encode, mint_token, rest_headers

VERSION_MISSING = {
    "status": 400,
    "code": "VERSION_MISSING",
    "message": "A version must be present. Please specify a version by adding the LinkedIn-Version "
    "header.",
}


async def test_version_missing(sandbox: httpx.AsyncClient, token: str) -> None:
    headers = rest_headers(token)
    del headers["LinkedIn-Version"]
    response = await sandbox.get("/rest/adAccounts?q=search", headers=headers)
    assert response.status_code == 400
    assert response.json() == VERSION_MISSING
    assert "x-restli-gateway-error" in response.headers


async def test_version_sunset_short(sandbox: httpx.AsyncClient, token: str) -> None:
    headers = rest_headers(token, **{"LinkedIn-Version": "202304"})
    response = await sandbox.get("/rest/adAccounts?q=search", headers=headers)
    assert response.status_code == 426
    assert response.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 20230401 is not active",
    }


async def test_version_sunset_long(sandbox: httpx.AsyncClient, token: str) -> None:
    headers = rest_headers(token, **{"LinkedIn-Version": "20241101"})
    response = await sandbox.get("/rest/adAccounts?q=search", headers=headers)
    assert response.status_code == 426
    assert response.json()["message"] == "Requested version 20241101 is not active"


async def test_version_eight_digits_active(sandbox: httpx.AsyncClient, token: str) -> None:
    headers = rest_headers(token, **{"LinkedIn-Version": "20240201"})
    response = await sandbox.get("/rest/adAccounts?q=search", headers=headers)
    assert response.status_code == 200


async def test_token_missing(sandbox: httpx.AsyncClient) -> None:
    headers = {"LinkedIn-Version": "202601", "X-Restli-Protocol-Version": "2.0.0"}
    response = await sandbox.get("/rest/adAccounts?q=search", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "EMPTY_ACCESS_TOKEN"
    assert body["status"] == 401


async def test_token_unknown(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers("AQnope"))
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }


async def test_token_expired(sandbox: httpx.AsyncClient) -> None:
    token = await mint_token(sandbox, expires_in=60)
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 61})
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert response.status_code == 401
    assert "Expired access token" in response.json()["message"]


async def test_token_revoked(sandbox: httpx.AsyncClient, token: str) -> None:
    revoked = await sandbox.post("/_sandbox/members/sandbox-member-1/revoke")
    assert revoked.json()["revoked_tokens"] >= 1
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert response.status_code == 401
    assert response.json()["code"] == "REVOKED_ACCESS_TOKEN"


async def test_scope_read_missing(sandbox: httpx.AsyncClient) -> None:
    token = await mint_token(sandbox, scopes=["r_ads_reporting"])
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: adAccounts.FINDER-search.20260101",
    }


async def test_scope_write_missing(sandbox: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    token = await mint_token(sandbox, scopes=["r_ads"])
    account = seeded["accounts"]["Northwind US"]
    response = await sandbox.post(
        f"/rest/adAccounts/{account}/adCampaignGroups", headers=rest_headers(token), json={}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "ACCESS_DENIED"


async def test_patch_not_allowed(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    for method in ("PATCH", "PUT"):
        response = await api.request(
            method, f"/rest/adAccounts/{account}/adCampaignGroups/{group}", json={"name": "x"}
        )
        assert response.status_code == 405
        assert "PATCH" not in response.headers["allow"]


async def test_post_without_length(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    request = api.build_request("POST", f"/rest/adAccounts/{account}/adCampaignGroups")
    del request.headers["content-length"]
    response = await api.send(request)
    assert response.status_code == 411


async def test_long_query_414(api: httpx.AsyncClient) -> None:
    names = [f"name-{index:05d}" for index in range(400)]
    query = "q=search&search=" + encode({"name": {"values": names}})
    assert len(query) > 4000
    response = await api.get(f"/rest/adAccounts?{query}")
    assert response.status_code == 414


async def test_tracing_headers(api: httpx.AsyncClient) -> None:
    response = await api.get("/rest/adAccounts?q=search")
    for name in ("x-li-uuid", "x-li-fabric", "x-li-request-id"):
        assert response.headers[name]
    assert "retry-after" not in response.headers


async def test_unknown_path_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/rest/creatives?q=criteria")
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_tunnel_get(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind Europe"]
    names = [f"name-{index:05d}" for index in range(400)] + ["Europe"]
    query = "q=search&search=" + encode({"name": {"values": names}})
    response = await api.post(
        "/rest/adAccounts",
        content=query,
        headers={
            "X-HTTP-Method-Override": "GET",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["elements"]] == [account]


async def test_protocol_v1_rejects_list(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    path = f"/rest/adAccounts/{account}/adCampaignGroups?ids=List({group})"
    ok = await api.get(path)
    assert ok.status_code == 200
    response = await api.get(path, headers={"X-Restli-Protocol-Version": ""})
    assert response.status_code == 400


async def test_request_log(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups",
        json={"name": "logged"},
        headers={"Idempotency-Key": "key-1"},
    )
    log = (
        await sandbox.get(
            "/_sandbox/requests", params={"path_prefix": "/rest/adAccounts", "method": "POST"}
        )
    ).json()
    assert log["count"] == 1
    entry = log["requests"][0]
    assert entry["path"] == f"/rest/adAccounts/{account}/adCampaignGroups"
    assert entry["headers"]["idempotency-key"] == "key-1"
    assert entry["headers"]["linkedin-version"] == "202601"
    assert entry["authorization_present"] is True
    assert "Bearer" not in str(entry)
    assert entry["body"] == {"name": "logged"}
    assert entry["status"] == 400
    cleared = await sandbox.delete("/_sandbox/requests")
    assert cleared.status_code == 204
    assert (await sandbox.get("/_sandbox/requests")).json()["count"] == 0


async def test_idempotency_key_ignored(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = {
        "account": f"urn:li:sponsoredAccount:{account}",
        "name": "Retry me",
        "status": "DRAFT",
        "runSchedule": {"start": seeded["now_ms"] + 3_600_000},
    }
    headers = {"Idempotency-Key": "same-key"}
    first = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups", json=body, headers=headers
    )
    second = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups", json=body, headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert first.headers["x-restli-id"] != second.headers["x-restli-id"]
    state = (await sandbox.get("/_sandbox/state")).json()
    assert [g["name"] for g in state["campaign_groups"]].count("Retry me") == 2
