"""The sync: events from state changes, restated days, status, metrics, failures and the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.analytics.helpers import created_on, make_campaign, make_creative, seeded_accounts
from tests.conftest import Service
from tests.sync.conftest import make_all_due

ROOT = Path(__file__).resolve().parents[2]


async def setup_us(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> dict[str, Any]:
    us = (await seeded_accounts(sandbox))["Northwind US"]
    campaign = await make_campaign(api, us["id"], us["group"], "USD")
    creative = await make_creative(api, us["id"], campaign)
    return {**us, "campaign": campaign, "creative": creative}


async def events(service: Service) -> list[dict[str, Any]]:
    response = await service.api.get("/v1/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [event for event in response.json()["items"] if event["entityType"] != "connection"]


async def test_state_changes_become_events(
    live_service: Service,
    sandbox: httpx.AsyncClient,
    api: httpx.AsyncClient,
    db_engine: AsyncEngine,
) -> None:
    us = await setup_us(sandbox, api)
    await live_service.connect()
    sync = live_service.app.state.sync
    await sync.run_once()
    assert await events(live_service) == []

    creative_id = us["creative"].rsplit(":", 1)[-1]
    await sandbox.post(
        f"/_sandbox/creatives/{creative_id}/review",
        json={"status": "REJECTED", "rejectionReasons": ["MISLEADING_CLAIMS"]},
    )
    await sandbox.post(
        "/_sandbox/holds",
        json={
            "urn": f"urn:li:sponsoredCampaign:{us['campaign']}",
            "holds": ["CAMPAIGN_TOTAL_BUDGET_HOLD"],
            "status": "COMPLETED",
        },
    )
    await make_all_due(db_engine)
    result = await sync.run_once()
    found = {
        (event["type"], event["entityType"], event["entityId"]): event
        for event in await events(live_service)
    }
    assert result.events == len(found)
    rejected = found[("creative_rejected", "ad", creative_id)]
    assert rejected["data"]["rejectionReasons"] == ["MISLEADING_CLAIMS"]
    assert rejected["adAccountId"] == str(us["id"])
    changed = found[("status_changed", "ad_set", str(us["campaign"]))]
    assert changed["data"] == {"from": "ACTIVE", "to": "COMPLETED"}
    assert ("completed", "ad_set", str(us["campaign"])) in found
    hold = found[("budget_hold", "ad_set", str(us["campaign"]))]
    assert hold["data"]["holds"] == ["CAMPAIGN_TOTAL_BUDGET_HOLD"]

    await sandbox.post(f"/_sandbox/creatives/{creative_id}/review", json={"status": "APPROVED"})
    await make_all_due(db_engine)
    await sync.run_once()
    types = [event["type"] for event in await events(live_service)]
    assert types.count("creative_approved") == 1
    assert types.count("creative_rejected") == 1


async def test_restated_days_replaced(
    live_service: Service,
    sandbox: httpx.AsyncClient,
    api: httpx.AsyncClient,
    db_engine: AsyncEngine,
) -> None:
    # Made 40 days ago on the sandbox clock, so every day of the sync's 30-day window has data.
    async with created_on(sandbox, datetime.now(UTC).date() - timedelta(days=40)):
        us = await setup_us(sandbox, api)
    await live_service.connect()
    sync = live_service.app.state.sync
    await sync.run_once()
    query = text(
        "SELECT entity_urn, day, impressions, spend_local FROM analytics_daily "
        "WHERE account_id = :account AND level = 'ad_set' ORDER BY day"
    )
    async with db_engine.connect() as connection:
        before = {
            (row.entity_urn, row.day): row
            for row in (await connection.execute(query, {"account": us["id"]})).all()
        }
    today = datetime.now(UTC).date()
    assert min(day for _, day in before) >= today - timedelta(days=29)
    assert 24 <= len(before) <= 30

    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 3600})
    await make_all_due(db_engine)
    await sync.run_once()
    async with db_engine.connect() as connection:
        after = {
            (row.entity_urn, row.day): row
            for row in (await connection.execute(query, {"account": us["id"]})).all()
        }
    assert set(after) == set(before)
    recent = {key for key in before if key[1] >= today - timedelta(days=2)}
    assert any(before[key].impressions != after[key].impressions for key in recent)
    assert all(before[key] == after[key] for key in before if key not in recent)
    assert all(isinstance(row.spend_local, Decimal) for row in after.values())


async def test_status_route_and_metrics(
    live_service: Service, sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    await setup_us(sandbox, api)
    await live_service.connect()
    before = await live_service.api.get("/v1/sync/status")
    assert before.json()["neverSynced"] == 6
    await live_service.app.state.sync.run_once()
    status = (await live_service.api.get("/v1/sync/status")).json()
    assert status["accounts"] == 6
    assert status["synced"] == 6
    assert status["failing"] == 0
    assert status["neverSynced"] == 0
    assert 0 <= status["maxLagSeconds"] < 60
    assert status["windowDays"] == 30
    metrics = (await live_service.api.get("/metrics")).text
    assert 'linkedin_ads_sync_accounts_total{outcome="ok"}' in metrics
    assert "linkedin_ads_sync_lag_seconds" in metrics
    assert 'linkedin_ads_analytics_calls_total{level="ad_set",result="complete"}' in metrics


async def test_throttle_fails_account(
    live_service: Service, sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    await setup_us(sandbox, api)
    await live_service.connect()
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"path_regex": "adAnalytics"}, "throttle": {"kind": "analytics_volume"}},
    )
    started = datetime.now(UTC)
    result = await live_service.app.state.sync.run_once()
    assert result.accounts_failed == 6
    status = (await live_service.api.get("/v1/sync/status")).json()
    assert status["failing"] == 6
    item = status["items"][0]
    assert "LinkedInThrottledError" in item["lastSyncError"]
    retry_at = datetime.fromisoformat(item["nextSyncAt"])
    assert retry_at >= started + timedelta(minutes=5)


def test_cli_sync_progress(live_service_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "sync"],
        env=live_service_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "6/6" in done.stderr
    assert "synced 6 ad accounts, 0 failed" in done.stdout


def test_cli_backfill(live_service_env: dict[str, str], backfill_account: int) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "backfill",
            "--account",
            str(backfill_account),
            "--start",
            "2025-06-01",
            "--end",
            "2025-12-31",
        ],
        env=live_service_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3/3" in done.stderr
    assert f"for ad account {backfill_account} from 2025-06-01 to 2025-12-31" in done.stdout
