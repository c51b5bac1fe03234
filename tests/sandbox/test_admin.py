"""Admin API: reset, state, clock, config, quotas, and the command-line server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.sandbox.helpers import mint_token, rest_headers

ROOT = Path(__file__).resolve().parents[2]


async def test_state_shape(sandbox: httpx.AsyncClient) -> None:
    state = (await sandbox.get("/_sandbox/state")).json()
    assert state["counts"]["accounts"] == 8
    assert state["counts"]["campaign_groups"] == 8
    assert state["counts"]["campaigns"] == 0
    currencies = {a["currency"] for a in state["accounts"]}
    assert {"USD", "EUR", "GBP", "CAD"} <= currencies
    assert [m["urn"] for m in state["members"]] == [
        "urn:li:person:sandbox-member-1",
        "urn:li:person:sandbox-member-2",
    ]
    assert all(o["urn"].startswith("urn:li:organization:") for o in state["organizations"])


async def test_reset_restores(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups",
        json={
            "account": f"urn:li:sponsoredAccount:{account}",
            "name": "temp",
            "status": "DRAFT",
            "runSchedule": {"start": seeded["now_ms"] + 3_600_000},
        },
    )
    await sandbox.post("/_sandbox/clock", json={"offset_seconds": 500})
    await sandbox.post("/_sandbox/config", json={"programmatic_refresh": False})
    await sandbox.post("/_sandbox/faults", json=[{"status": 500}])
    await sandbox.post("/_sandbox/reset")
    state = (await sandbox.get("/_sandbox/state")).json()
    assert state["counts"]["campaign_groups"] == 8
    assert state["clock"]["offset_seconds"] == 0
    assert (await sandbox.get("/_sandbox/faults")).json()["faults"] == []
    assert (await sandbox.get("/_sandbox/config")).json()["programmatic_refresh"] is True
    assert (await sandbox.get("/_sandbox/requests")).json()["count"] == 0


async def test_clock_advance(sandbox: httpx.AsyncClient) -> None:
    first = (await sandbox.post("/_sandbox/clock", json={"offset_seconds": 100})).json()
    second = (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 50})).json()
    assert first["offset_seconds"] == 100
    assert second["offset_seconds"] == 150


async def test_config_versions(sandbox: httpx.AsyncClient, token: str) -> None:
    changed = await sandbox.post("/_sandbox/config", json={"active_versions": ["202603"]})
    assert changed.json()["active_versions"] == ["202603"]
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert response.status_code == 426
    invalid = await sandbox.post("/_sandbox/config", json={"active_versions": ["2026-3"]})
    assert invalid.status_code == 422


async def test_daily_quota(sandbox: httpx.AsyncClient, token: str) -> None:
    await sandbox.post("/_sandbox/config", json={"daily_member_quota": 2})
    statuses = [
        (await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token)))
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert "MEMBER DAY limit" in statuses[2].json()["message"]
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 86_400})
    after = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert after.status_code == 200


async def test_tokens_unknown_member(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.post("/_sandbox/tokens", json={"member": "nobody"})
    assert response.status_code == 404
    assert await mint_token(sandbox, member="urn:li:person:sandbox-member-2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_server() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"listening on http://127.0.0.1:{port}" in output
    assert "sandbox-client-id" in output
