"""The token job: refreshes due tokens, skips fresh ones, warns once per grant, sets gauges."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Service, running_service
from tests.connections.test_tokens import (
    DAY,
    connect,
    first_account,
    list_events,
    refresh_calls,
    set_expiry,
    stored,
)


async def gauge(client: httpx.AsyncClient, name: str) -> float:
    """Return the value of one sample line of `/metrics`, e.g. `name{token="refresh"}`."""
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")


async def test_job_refreshes_due_skips_fresh(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    due_id = await connect(service.api)
    fresh_id = await connect(service.other)
    await set_expiry(db_engine, due_id, access=3 * DAY)
    fresh_before = await stored(db_engine, fresh_id)

    report = await service.app.state.token_job.run()

    assert dict(report.refreshes) == {"refreshed": 1}
    assert len(await refresh_calls(sandbox)) == 1
    due = await stored(db_engine, due_id)
    assert due.access_token_expires_at > datetime.now(UTC) + 59 * DAY
    assert due.last_refreshed_at is not None
    fresh = await stored(db_engine, fresh_id)
    assert fresh.access_token_encrypted == fresh_before.access_token_encrypted
    assert fresh.last_refreshed_at is None

    again = await service.app.state.token_job.run()
    assert dict(again.refreshes) == {}
    assert len(await refresh_calls(sandbox)) == 1


async def test_job_replicas_refresh_once(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_ids = [await connect(service.api), await connect(service.other)]
    for connection_id in connection_ids:
        await set_expiry(db_engine, connection_id, access=timedelta(hours=2))
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"path_regex": "^/oauth/v2/accessToken"}, "latency_ms": 200},
    )

    async with running_service(service.app.state.settings) as replica:
        first, second = await asyncio.gather(
            service.app.state.token_job.run(), replica.app.state.token_job.run()
        )

    assert len(await refresh_calls(sandbox)) == 2
    assert first.refreshes["refreshed"] + second.refreshes["refreshed"] == 2
    skipped = (
        first.refreshes["locked"]
        + second.refreshes["locked"]
        + first.refreshes["current"]
        + second.refreshes["current"]
    )
    assert skipped == 2


async def test_refresh_expiry_warned_once(service: Service, db_engine: AsyncEngine) -> None:
    connection_id = await connect(service.api)
    await connect(service.other)
    await set_expiry(db_engine, connection_id, refresh=20 * DAY)

    async with running_service(service.app.state.settings) as replica:
        first, second = await asyncio.gather(
            service.app.state.token_job.run(), replica.app.state.token_job.run()
        )
    third = await service.app.state.token_job.run()

    assert first.warnings + second.warnings == 1
    assert third.warnings == 0
    events = await list_events(service.api, "refresh_token_expiring")
    assert len(events) == 1
    assert events[0]["entityId"] == connection_id
    assert "in 19 days" in events[0]["message"]
    assert events[0]["data"]["expiresAt"].startswith(
        (datetime.now(UTC) + 20 * DAY).date().isoformat()
    )
    assert await list_events(service.other, "refresh_token_expiring") == []
    assert await gauge(service.api, 'linkedin_ads_connections_expiring{token="refresh"}') == 1
    assert await gauge(service.api, "linkedin_ads_connections_needing_reconnect") == 0


async def test_reconnect_rearms_warning(service: Service, db_engine: AsyncEngine) -> None:
    connection_id = await connect(service.api)
    await set_expiry(db_engine, connection_id, refresh=20 * DAY)
    assert (await service.app.state.token_job.run()).warnings == 1

    assert await connect(service.api) == connection_id
    row = await stored(db_engine, connection_id)
    assert row.expiry_warned_at is None
    assert (await service.app.state.token_job.run()).warnings == 0
    assert await gauge(service.api, 'linkedin_ads_connections_expiring{token="refresh"}') == 0

    await set_expiry(db_engine, connection_id, refresh=5 * DAY)
    assert (await service.app.state.token_job.run()).warnings == 1
    assert len(await list_events(service.api, "refresh_token_expiring")) == 2


async def test_no_refresh_app_warned_then_ended(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    await sandbox.post("/_sandbox/config", json={"programmatic_refresh": False})
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    await set_expiry(db_engine, connection_id, access=3 * DAY)

    first = await service.app.state.token_job.run()
    second = await service.app.state.token_job.run()

    # A token that cannot be refreshed is left alone until it expires.
    assert dict(first.refreshes) == {}
    assert first.warnings == 1
    assert second.warnings == 0
    events = await list_events(service.api, "access_token_expiring")
    assert len(events) == 1
    assert "no refresh tokens" in events[0]["message"]
    assert await gauge(service.api, 'linkedin_ads_connections_expiring{token="access"}') == 1
    working = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert working.status_code == 200, working.text

    await set_expiry(db_engine, connection_id, access=-timedelta(minutes=1))
    ended = await service.app.state.token_job.run()

    assert dict(ended.refreshes) == {"needs_reconnect": 1}
    assert await refresh_calls(sandbox) == []
    assert len(await list_events(service.api, "needs_reconnect")) == 1
    assert await gauge(service.api, "linkedin_ads_connections_needing_reconnect") == 1
    assert await gauge(service.api, 'linkedin_ads_connections_expiring{token="access"}') == 0
    connections: list[dict[str, Any]] = (await service.api.get("/v1/connections")).json()
    assert connections[0]["needsReconnect"] is True


async def test_job_marks_revoked_grant(
    service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    await sandbox.post("/_sandbox/members/sandbox-member-1/revoke")
    await set_expiry(db_engine, connection_id, access=DAY)

    report = await service.app.state.token_job.run()

    assert dict(report.refreshes) == {"needs_reconnect": 1}
    assert (await stored(db_engine, connection_id)).status == "needs_reconnect"
    events = await list_events(service.api, "needs_reconnect")
    assert len(events) == 1
    assert events[0]["data"] == {"reason": "refresh_rejected"}
    assert report.health["needs_reconnect"] == 1
