"""The OAuth round trip through the sandbox's consent page, over real HTTP."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.browser import submit_consent
from app.connections.models import OAuthState
from tests.conftest import RETURN_URL, Service


def outcome(location: str) -> dict[str, str]:
    assert location.startswith(RETURN_URL), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def start(service: Service) -> str:
    response = await service.api.post("/v1/connections/oauth/start", json={"returnUrl": RETURN_URL})
    assert response.status_code == 200, response.text
    return str(response.json()["authorizationUrl"])


async def consent(url: str, *, approve: bool = True) -> str:
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await submit_consent(browser, url, approve=approve)
    return callback.split("127.0.0.1:8000", 1)[1]


async def test_authorization_url_requests_scopes(service: Service) -> None:
    url = await start(service)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["r_ads r_ads_reporting rw_ads"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [service.app.state.settings.linkedin_ads_client_id]
    assert len(query["state"][0]) >= 40
    assert "%20" in url


async def test_connect_captures_ad_accounts(service: Service) -> None:
    connection_id = await service.connect()
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    currencies = {account["currency"] for account in accounts}
    assert {"USD", "EUR", "GBP"} <= currencies
    assert any(account["test"] for account in accounts)
    assert all(account["connectionId"] == connection_id for account in accounts)
    connections = (await service.api.get("/v1/connections")).json()
    assert [item["id"] for item in connections] == [connection_id]
    assert connections[0]["status"] == "active"
    assert connections[0]["scopes"] == ["r_ads", "r_ads_reporting", "rw_ads"]
    assert connections[0]["hasRefreshToken"] is True


async def test_cancel_redirects_with_reason(service: Service) -> None:
    callback = await consent(await start(service), approve=False)
    response = await service.api.get(callback)
    assert response.status_code == 303
    result = outcome(response.headers["location"])
    assert result["linkedin_ads"] == "error"
    assert result["reason"] == "cancelled"
    assert (await service.api.get("/v1/connections")).json() == []


async def test_unknown_state_shows_page(service: Service) -> None:
    response = await service.api.get("/v1/connections/oauth/callback?code=x&state=forged")
    assert response.status_code == 400
    assert "unknown" in response.text
    assert "Traceback" not in response.text


async def test_reused_state_is_rejected(service: Service) -> None:
    callback = await consent(await start(service))
    first = await service.api.get(callback)
    assert "linkedin_ads=connected" in first.headers["location"]
    second = await service.api.get(callback)
    assert second.status_code == 303
    assert outcome(second.headers["location"])["reason"] == "state_reused"


async def test_expired_state_is_rejected(service: Service, db_engine: AsyncEngine) -> None:
    callback = await consent(await start(service))
    async with db_engine.begin() as connection:
        await connection.execute(
            update(OAuthState).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await service.api.get(callback)
    assert outcome(response.headers["location"])["reason"] == "state_expired"
    assert (await service.api.get("/v1/connections")).json() == []


async def test_state_binds_workspace(service: Service) -> None:
    connection_id = await service.connect()
    assert (await service.other.get("/v1/connections")).json() == []
    assert (await service.other.get("/v1/ad-accounts")).json() == []
    hidden = await service.other.get(f"/v1/connections/{connection_id}")
    assert hidden.status_code == 404
    account_id = (await service.api.get("/v1/ad-accounts")).json()[0]["id"]
    assert (await service.other.get(f"/v1/ad-accounts/{account_id}")).status_code == 404
    campaigns = await service.other.get(f"/v1/ad-accounts/{account_id}/campaigns")
    assert campaigns.status_code == 404
    assert campaigns.json()["error"]["code"] == "not_found"
    removed = await service.other.delete(f"/v1/connections/{connection_id}")
    assert removed.status_code == 404


async def test_return_url_must_be_allowed(service: Service) -> None:
    response = await service.api.post(
        "/v1/connections/oauth/start", json={"returnUrl": "https://evil.example/steal"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "returnUrl"


async def test_missing_api_key_is_401(service: Service) -> None:
    response = await service.api.get("/v1/connections", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    wrong = await service.api.get("/v1/connections", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


async def test_tokens_unreadable_without_key(service: Service, db_engine: AsyncEngine) -> None:
    await service.connect()
    async with db_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT access_token_encrypted, refresh_token_encrypted FROM connections")
            )
        ).one()
    sandbox_tokens = await service.app.state.tokens.access_token(
        (await service.api.get("/v1/connections")).json()[0]["id"]
    )
    assert sandbox_tokens.encode() not in bytes(row[0])
    assert bytes(row[0]).startswith(b"gAAAAA")
    assert bytes(row[1]).startswith(b"gAAAAA")


async def test_disconnect_deletes_tokens(
    service: Service, db_engine: AsyncEngine, sandbox: httpx.AsyncClient
) -> None:
    connection_id = await service.connect()
    response = await service.api.delete(f"/v1/connections/{connection_id}")
    assert response.status_code == 204
    async with db_engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT access_token_encrypted, refresh_token_encrypted, status "
                    "FROM connections"
                )
            )
        ).one()
        accounts = (await connection.execute(text("SELECT count(*) FROM ad_accounts"))).scalar()
    assert row[0] is None
    assert row[1] is None
    assert row[2] == "disconnected"
    assert accounts == 0
    assert (await service.api.get("/v1/connections")).json() == []
    revoked = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": "/oauth/v2/revoke"})
    ).json()
    # The access token and the refresh token, each revoked on its own.
    assert revoked["count"] == 2
