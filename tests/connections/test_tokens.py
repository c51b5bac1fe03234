"""Token refresh on the request path: once per connection, revoked grants, disconnect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.browser import submit_consent
from app.models import Base
from tests.conftest import RETURN_URL, Service, make_settings, running_service

RECONNECT_MESSAGE = "LinkedIn Ads /adAccounts returned 401"
DAY = timedelta(days=1)
# Dozens of concurrent requests in one event loop can delay a limiter check past the default
# 0.25 s, which the limiter answers with a 429; these tests measure refreshes, not the limiter.
LIMITER_TIMEOUT_SECONDS = 5


@pytest.fixture
async def service(
    service_settings: Any, db_engine: AsyncEngine, redis: Any, sandbox: httpx.AsyncClient
) -> AsyncIterator[Service]:
    settings = service_settings.model_copy(
        update={"linkedin_ads_rate_limit_timeout_seconds": LIMITER_TIMEOUT_SECONDS}
    )
    async with running_service(settings) as running:
        yield running


# ---- helpers, also used by the other token test modules ---------------------------------------


async def connect(client: httpx.AsyncClient) -> str:
    """Connect the sandbox's first member in the client's workspace; return the connection id."""
    start = await client.post("/v1/connections/oauth/start", json={"returnUrl": RETURN_URL})
    assert start.status_code == 200, start.text
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await submit_consent(browser, start.json()["authorizationUrl"], approve=True)
    finished = await client.get(callback.split("127.0.0.1:8000", 1)[1])
    assert "linkedin_ads=connected" in finished.headers["location"], finished.headers
    return finished.headers["location"].split("connection_id=", 1)[1].split("&", 1)[0]


async def first_account(client: httpx.AsyncClient) -> str:
    accounts = (await client.get("/v1/ad-accounts")).json()
    return str(accounts[0]["id"])


async def set_expiry(
    engine: AsyncEngine,
    connection_id: str,
    *,
    access: timedelta | None = None,
    refresh: timedelta | None = None,
) -> None:
    """Move the stored expiries to now plus the given offsets."""
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        if access is not None:
            await connection.execute(
                text("UPDATE connections SET access_token_expires_at = :at WHERE id = :id"),
                {"at": now + access, "id": uuid.UUID(connection_id)},
            )
        if refresh is not None:
            await connection.execute(
                text("UPDATE connections SET refresh_token_expires_at = :at WHERE id = :id"),
                {"at": now + refresh, "id": uuid.UUID(connection_id)},
            )


async def stored(engine: AsyncEngine, connection_id: str) -> Any:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT * FROM connections WHERE id = :id"), {"id": uuid.UUID(connection_id)}
            )
        ).one()


async def refresh_calls(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    log = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": "/oauth/v2/accessToken"})
    ).json()
    return [
        entry
        for entry in log["requests"]
        if (entry.get("form") or {}).get("grant_type") == "refresh_token"
    ]


async def upstream_statuses(sandbox: httpx.AsyncClient, path_part: str) -> list[int]:
    log = (await sandbox.get("/_sandbox/requests", params={"path_prefix": "/rest/"})).json()
    return [entry["status"] for entry in log["requests"] if path_part in entry["path"]]


async def list_events(client: httpx.AsyncClient, kind: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": kind})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def revoke_upstream(sandbox: httpx.AsyncClient, token: str) -> None:
    response = await sandbox.post(
        "/oauth/v2/revoke",
        data={
            "token": token,
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
        },
    )
    assert response.status_code == 200


# ---- once per connection --------------------------------------------------------------------


async def test_concurrent_calls_refresh_once(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    old_token = await service.app.state.tokens.access_token(uuid.UUID(connection_id))
    # Any call still sending the old token would get a 401 from the sandbox.
    await revoke_upstream(sandbox, old_token)
    await set_expiry(db_engine, connection_id, access=timedelta(hours=1))
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"path_regex": "^/oauth/v2/accessToken"}, "latency_ms": 200},
    )
    await sandbox.delete("/_sandbox/requests")

    responses = await asyncio.gather(
        *(service.api.get(f"/v1/ad-accounts/{account}/campaigns") for _ in range(100))
    )

    assert sorted({response.status_code for response in responses}) == [200]
    assert len(await refresh_calls(sandbox)) == 1
    statuses = await upstream_statuses(sandbox, "/adCampaignGroups")
    assert len(statuses) == 100
    assert set(statuses) == {200}
    row = await stored(db_engine, connection_id)
    assert row.access_token_expires_at > datetime.now(UTC) + 59 * DAY
    assert row.last_refreshed_at is not None
    assert row.status == "active"


async def test_fresh_token_makes_no_refresh(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await set_expiry(db_engine, connection_id, access=8 * DAY)
    responses = await asyncio.gather(
        *(service.api.get(f"/v1/ad-accounts/{account}/campaigns") for _ in range(10))
    )
    assert {response.status_code for response in responses} == {200}
    assert await refresh_calls(sandbox) == []


async def test_rejected_token_refreshed_once(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    """LinkedIn revoked only the access token: one refresh, then every call succeeds."""
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await revoke_upstream(
        sandbox, await service.app.state.tokens.access_token(uuid.UUID(connection_id))
    )
    await sandbox.delete("/_sandbox/requests")

    responses = await asyncio.gather(
        *(service.api.get(f"/v1/ad-accounts/{account}/campaigns") for _ in range(20))
    )

    assert {response.status_code for response in responses} == {200}
    assert len(await refresh_calls(sandbox)) == 1
    assert (await stored(db_engine, connection_id)).status == "active"


async def test_refresh_stores_returned_lifetimes(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    """A refresh on day 59 keeps the refresh token, whose lifetime shrinks to 306 days."""
    connection_id = await connect(service.api)
    before = await stored(db_engine, connection_id)
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 59 * 86400})
    await set_expiry(db_engine, connection_id, access=DAY)

    token = await service.app.state.tokens.access_token(uuid.UUID(connection_id))

    after = await stored(db_engine, connection_id)
    cipher = service.app.state.tokens.cipher
    assert cipher.decrypt(after.access_token_encrypted) == token
    assert cipher.decrypt(after.refresh_token_encrypted) == cipher.decrypt(
        before.refresh_token_encrypted
    )
    left = after.refresh_token_expires_at - datetime.now(UTC)
    assert 305 * DAY < left <= 306 * DAY
    assert after.access_token_expires_at - datetime.now(UTC) > 59 * DAY


async def test_oauth_outage_keeps_valid_token(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await set_expiry(db_engine, connection_id, access=2 * DAY)
    await sandbox.post(
        "/_sandbox/faults", json={"match": {"path_regex": "^/oauth/v2/accessToken"}, "status": 503}
    )

    response = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")

    assert response.status_code == 200, response.text
    # The fault answers before the sandbox reads the form, so the entry has no grant_type.
    log = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": "/oauth/v2/accessToken"})
    ).json()
    assert [entry["status"] for entry in log["requests"]] == [200, 503]
    row = await stored(db_engine, connection_id)
    assert row.status == "active"
    assert row.access_token_expires_at < datetime.now(UTC) + 3 * DAY


# ---- grants that end -------------------------------------------------------------------------


async def test_revoked_grant_needs_reconnect(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    revoked = await sandbox.post("/_sandbox/members/sandbox-member-1/revoke")
    assert revoked.json()["revoked_tokens"] >= 2
    await sandbox.delete("/_sandbox/requests")

    responses = await asyncio.gather(
        *(service.api.get(f"/v1/ad-accounts/{account}/campaigns") for _ in range(20))
    )

    for response in responses:
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "reconnect_required"
        assert response.json()["error"]["message"] == RECONNECT_MESSAGE
    assert len(await refresh_calls(sandbox)) == 1
    row = await stored(db_engine, connection_id)
    assert row.status == "needs_reconnect"
    assert "invalid" in row.status_reason
    events = await list_events(service.api, "needs_reconnect")
    assert len(events) == 1
    assert events[0]["entityId"] == connection_id
    connections = (await service.api.get("/v1/connections")).json()
    assert connections[0]["needsReconnect"] is True
    assert connections[0]["status"] == "needs_reconnect"

    # Later calls stop before LinkedIn.
    await sandbox.delete("/_sandbox/requests")
    later = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert later.status_code == 401
    assert later.json()["error"]["message"] == RECONNECT_MESSAGE
    count = (await sandbox.get("/_sandbox/requests/count")).json()["count"]
    assert count == 0


async def test_reject_after_refresh_needs_reconnect(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    """Every access token is revoked on use, so even the refreshed one gets a 401."""
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"path_regex": "/adCampaignGroups"}, "revoke_token": True},
    )

    response = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == RECONNECT_MESSAGE
    assert response.json()["error"]["reason"] == "token_rejected"
    assert len(await refresh_calls(sandbox)) == 1
    assert await upstream_statuses(sandbox, "/adCampaignGroups") == [401, 401]
    row = await stored(db_engine, connection_id)
    assert row.status == "needs_reconnect"
    assert len(await list_events(service.api, "needs_reconnect")) == 1


async def test_expired_refresh_token_needs_reconnect(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    # The last access token outlives the refresh token: it stays in use until it expires.
    await set_expiry(db_engine, connection_id, access=2 * DAY, refresh=-DAY)
    kept = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert kept.status_code == 200, kept.text

    await set_expiry(db_engine, connection_id, access=-timedelta(minutes=1))
    ended = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")

    assert ended.status_code == 401
    assert ended.json()["error"]["message"] == RECONNECT_MESSAGE
    assert ended.json()["error"]["reason"] == "refresh_token_expired"
    assert await refresh_calls(sandbox) == []
    assert (await stored(db_engine, connection_id)).status == "needs_reconnect"


async def test_refresh_after_365_days_rejected(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    """LinkedIn's clock says the refresh token expired although ours does not yet."""
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 366 * 86400})
    await set_expiry(db_engine, connection_id, access=-timedelta(minutes=1))

    response = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")

    assert response.status_code == 401
    assert response.json()["error"]["reason"] == "refresh_rejected"
    assert response.json()["error"]["upstream"]["code"] == "invalid_grant"
    assert len(await refresh_calls(sandbox)) == 1
    assert (await stored(db_engine, connection_id)).status == "needs_reconnect"


async def test_no_refresh_token_app(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    await sandbox.post("/_sandbox/config", json={"programmatic_refresh": False})
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    row = await stored(db_engine, connection_id)
    assert row.refresh_token_encrypted is None
    await set_expiry(db_engine, connection_id, access=2 * DAY)

    working = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert working.status_code == 200, working.text
    assert await refresh_calls(sandbox) == []

    await set_expiry(db_engine, connection_id, access=-timedelta(seconds=1))
    ended = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert ended.status_code == 401
    assert ended.json()["error"]["message"] == RECONNECT_MESSAGE
    assert ended.json()["error"]["reason"] == "access_token_expired"
    assert await refresh_calls(sandbox) == []
    assert len(await list_events(service.api, "needs_reconnect")) == 1


async def test_reconnect_restores_connection(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await sandbox.post("/_sandbox/members/sandbox-member-1/revoke")
    assert (await service.api.get(f"/v1/ad-accounts/{account}/campaigns")).status_code == 401

    again = await connect(service.api)

    assert again == connection_id
    response = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert response.status_code == 200, response.text
    connections = (await service.api.get("/v1/connections")).json()
    assert connections[0]["needsReconnect"] is False
    assert connections[0]["status"] == "active"


# ---- health in the API ------------------------------------------------------------------------


async def test_connection_health_fields(service: Service, db_engine: AsyncEngine) -> None:
    connection_id = await connect(service.api)
    fresh = (await service.api.get(f"/v1/connections/{connection_id}")).json()
    assert fresh["needsReconnect"] is False
    assert fresh["expiresSoon"] is False
    assert fresh["accessTokenExpiresInDays"] == 59
    assert fresh["refreshTokenExpiresInDays"] == 364
    assert fresh["hasRefreshToken"] is True
    assert fresh["reconnectBy"] == fresh["refreshTokenExpiresAt"]

    await set_expiry(db_engine, connection_id, refresh=10 * DAY + timedelta(hours=1))
    soon = (await service.api.get("/v1/connections")).json()[0]
    assert soon["expiresSoon"] is True
    assert soon["refreshTokenExpiresInDays"] == 10


# ---- disconnect -------------------------------------------------------------------------------


async def test_disconnect_with_revoke_failure(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    row = await stored(db_engine, connection_id)
    cipher = service.app.state.tokens.cipher
    secrets = [
        cipher.decrypt(row.access_token_encrypted),
        cipher.decrypt(row.refresh_token_encrypted),
    ]
    await sandbox.post(
        "/_sandbox/faults", json={"match": {"path_regex": "^/oauth/v2/revoke"}, "status": 503}
    )

    response = await service.api.delete(f"/v1/connections/{connection_id}")

    assert response.status_code == 204
    revokes = (
        await sandbox.get("/_sandbox/requests", params={"path_prefix": "/oauth/v2/revoke"})
    ).json()["requests"]
    assert [entry["status"] for entry in revokes] == [503, 503]
    row = await stored(db_engine, connection_id)
    assert row.access_token_encrypted is None
    assert row.refresh_token_encrypted is None
    assert row.status == "disconnected"
    async with db_engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for secret in secrets:
                found = (
                    await connection.execute(
                        text(
                            f'SELECT count(*) FROM "{table.name}" AS t '
                            "WHERE strpos(t::text, :secret) > 0"
                        ),
                        {"secret": secret},
                    )
                ).scalar()
                assert found == 0, table.name
    assert len(await list_events(service.api, "disconnected")) == 1


async def test_disconnect_without_revocation(
    service_settings: Any, db_engine: AsyncEngine, redis: Any, sandbox: httpx.AsyncClient
) -> None:
    settings = service_settings.model_copy(update={"linkedin_ads_revoke_on_disconnect": False})
    async with running_service(settings) as running:
        connection_id = await connect(running.api)
        response = await running.api.delete(f"/v1/connections/{connection_id}")
    assert response.status_code == 204
    count = (
        await sandbox.get("/_sandbox/requests/count", params={"path_prefix": "/oauth/v2/revoke"})
    ).json()["count"]
    assert count == 0
    assert (await stored(db_engine, connection_id)).access_token_encrypted is None


async def test_small_pool_does_not_deadlock(
    database_url: str,
    redis_url: str,
    sandbox_server: Any,
    db_engine: AsyncEngine,
    redis: Any,
    sandbox: httpx.AsyncClient,
) -> None:
    """Requests fill the main pool while they wait for the refresh, which has its own pool."""
    settings = make_settings(
        database_url,
        redis_url,
        sandbox_server.url,
        linkedin_ads_token_pool_size=1,
        linkedin_ads_rate_limit_timeout_seconds=LIMITER_TIMEOUT_SECONDS,
    )
    async with running_service(settings) as running:
        connection_id = await connect(running.api)
        account = await first_account(running.api)
        await set_expiry(db_engine, connection_id, access=timedelta(hours=1))
        await sandbox.post(
            "/_sandbox/faults",
            json={"match": {"path_regex": "^/oauth/v2/accessToken"}, "latency_ms": 300},
        )
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(running.api.get(f"/v1/ad-accounts/{account}/campaigns") for _ in range(60))
            ),
            20,
        )
    assert {response.status_code for response in responses} == {200}
    assert len(await refresh_calls(sandbox)) == 1
