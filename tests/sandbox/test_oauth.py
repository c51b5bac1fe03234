"""OAuth: consent page, code and refresh grants, introspection and revocation."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sandbox.helpers import rest_headers

CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
REDIRECT = "http://127.0.0.1:9000/callback"
SCOPES = "r_ads rw_ads r_ads_reporting"
CODE_MISMATCH = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)


def authorize_params(**extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "sandbox-client-id",
        "redirect_uri": REDIRECT,
        "state": "xyz",
        "scope": SCOPES,
        **extra,
    }


async def approve(
    sandbox: httpx.AsyncClient, member: str = "urn:li:person:sandbox-member-1", **extra: str
) -> str:
    form = {**authorize_params(**extra), "decision": "approve", "member": member}
    response = await sandbox.post("/oauth/v2/authorization", data=form)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def exchange(sandbox: httpx.AsyncClient, code: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        **CLIENT,
        **extra,
    }
    return await sandbox.post("/oauth/v2/accessToken", data=form)


async def test_consent_page(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.get("/oauth/v2/authorization", params=authorize_params())
    assert response.status_code == 200
    page = response.text
    assert "Sandbox Ads Integration" in page
    for scope in ("r_ads", "rw_ads", "r_ads_reporting"):
        assert f"<code>{scope}</code>" in page
    assert 'value="approve"' in page
    assert 'value="cancel"' in page
    assert 'value="urn:li:person:sandbox-member-2"' in page
    assert re.search(r'name="redirect_uri" value="http://127.0.0.1:9000/callback"', page)


async def test_cancel_redirect(sandbox: httpx.AsyncClient) -> None:
    form = {**authorize_params(), "decision": "cancel"}
    response = await sandbox.post("/oauth/v2/authorization", data=form)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == ["user_cancelled_authorize"]
    assert query["state"] == ["xyz"]
    assert query["error_description"]


async def test_unknown_scope(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.get(
        "/oauth/v2/authorization", params=authorize_params(scope="r_ads r_nonsense")
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["unauthorized_scope_error"]
    assert query["error_description"] == [
        'Scope "r_nonsense" is not authorized for your application'
    ]


async def test_bad_redirect_uri(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.get(
        "/oauth/v2/authorization", params=authorize_params(redirect_uri="https://evil.example/cb")
    )
    assert response.status_code == 400
    assert "redirect_uri" in response.text
    assert "location" not in response.headers


async def test_bad_client_id(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.get(
        "/oauth/v2/authorization", params=authorize_params(client_id="other")
    )
    assert response.status_code == 400


async def test_code_exchange(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    response = await exchange(sandbox, code)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
    }
    assert body["expires_in"] == 5_184_000
    assert body["refresh_token_expires_in"] == 31_536_000
    assert body["scope"] == SCOPES
    assert len(body["access_token"]) >= 500
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body["access_token"])
    accounts = await sandbox.get(
        "/rest/adAccounts?q=search", headers=rest_headers(body["access_token"])
    )
    assert accounts.status_code == 200


async def test_code_single_use(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    assert (await exchange(sandbox, code)).status_code == 200
    again = await exchange(sandbox, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_request", "error_description": CODE_MISMATCH}


async def test_code_expired(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 1801})
    response = await exchange(sandbox, code)
    assert response.status_code == 400
    assert response.json()["error_description"] == CODE_MISMATCH


async def test_redirect_mismatch(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    response = await exchange(sandbox, code, redirect_uri="http://127.0.0.1:9000/other")
    assert response.status_code == 400
    assert response.json()["error_description"] == CODE_MISMATCH


async def test_code_unknown(sandbox: httpx.AsyncClient) -> None:
    response = await exchange(sandbox, "not-a-code")
    assert response.status_code == 401
    assert "authorization code not found" in response.json()["error_description"]


async def test_missing_parameter(sandbox: httpx.AsyncClient) -> None:
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, **CLIENT}
    response = await sandbox.post("/oauth/v2/accessToken", data=form)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": 'A required parameter "code" is missing',
    }


async def test_json_body_ignored(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **CLIENT}
    response = await sandbox.post("/oauth/v2/accessToken", json=body)
    assert response.status_code == 400
    assert response.json()["error_description"] == 'A required parameter "grant_type" is missing'


async def test_bad_secret(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox)
    response = await exchange(sandbox, code, client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def refresh(sandbox: httpx.AsyncClient, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, **CLIENT}
    return await sandbox.post("/oauth/v2/accessToken", data=form)


async def test_refresh_keeps_token(sandbox: httpx.AsyncClient) -> None:
    first = (await exchange(sandbox, await approve(sandbox))).json()
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 59 * 86_400})
    response = await refresh(sandbox, first["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] == first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["expires_in"] == 5_184_000
    assert 306 * 86_400 - 5 <= body["refresh_token_expires_in"] <= 306 * 86_400
    old = await sandbox.get(
        "/rest/adAccounts?q=search", headers=rest_headers(first["access_token"])
    )
    assert old.status_code == 200


async def test_refresh_expired(sandbox: httpx.AsyncClient) -> None:
    first = (await exchange(sandbox, await approve(sandbox))).json()
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 366 * 86_400})
    response = await refresh(sandbox, first["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_revoked(sandbox: httpx.AsyncClient) -> None:
    first = (await exchange(sandbox, await approve(sandbox))).json()
    await sandbox.post("/_sandbox/members/sandbox-member-1/revoke")
    response = await refresh(sandbox, first["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_no_programmatic_refresh(sandbox: httpx.AsyncClient) -> None:
    changed = await sandbox.post("/_sandbox/config", json={"programmatic_refresh": False})
    assert changed.json()["programmatic_refresh"] is False
    body = (await exchange(sandbox, await approve(sandbox))).json()
    assert "refresh_token" not in body
    assert "refresh_token_expires_in" not in body
    assert body["expires_in"] == 5_184_000


async def test_introspect(sandbox: httpx.AsyncClient) -> None:
    body = (await exchange(sandbox, await approve(sandbox))).json()
    form = {**CLIENT, "token": body["access_token"]}
    response = await sandbox.post("/oauth/v2/introspectToken", data=form)
    assert response.status_code == 200
    info: dict[str, Any] = response.json()
    assert info["active"] is True
    assert info["status"] == "active"
    assert info["scope"] == "r_ads,rw_ads,r_ads_reporting"
    assert info["auth_type"] == "3L"
    assert info["expires_at"] - info["created_at"] == 5_184_000
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 5_184_001})
    expired = (await sandbox.post("/oauth/v2/introspectToken", data=form)).json()
    assert expired["active"] is False
    assert expired["status"] == "expired"


async def test_introspect_bad_secret(sandbox: httpx.AsyncClient) -> None:
    form = {**CLIENT, "client_secret": "nope", "token": "x"}
    response = await sandbox.post("/oauth/v2/introspectToken", data=form)
    assert response.status_code == 401


async def test_revoke_endpoint(sandbox: httpx.AsyncClient) -> None:
    body = (await exchange(sandbox, await approve(sandbox))).json()
    response = await sandbox.post(
        "/oauth/v2/revoke", data={**CLIENT, "token": body["access_token"]}
    )
    assert response.status_code == 200
    api = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(body["access_token"]))
    assert api.status_code == 401
    info = (
        await sandbox.post(
            "/oauth/v2/introspectToken", data={**CLIENT, "token": body["access_token"]}
        )
    ).json()
    assert info["status"] == "revoked"


async def test_second_member(sandbox: httpx.AsyncClient) -> None:
    code = await approve(sandbox, member="urn:li:person:sandbox-member-2")
    token = (await exchange(sandbox, code)).json()["access_token"]
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    names = [account["name"] for account in response.json()["elements"]]
    assert names == ["Contoso Fitness", "Contoso Canada"]


async def test_scope_change_revokes(sandbox: httpx.AsyncClient) -> None:
    first = (await exchange(sandbox, await approve(sandbox))).json()["access_token"]
    await exchange(sandbox, await approve(sandbox, scope="r_ads"))
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(first))
    assert response.status_code == 401
