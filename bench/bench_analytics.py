"""Analytics benchmarks: ingestion speed against COPY, and upstream calls of a 90-day sync.

1. Ingestion: rows per second of `store_pull` (pulled rows -> records with USD -> one `unnest`
   upsert per 10,000 rows) against a baseline in the same run on the same database: COPY of the
   already built rows into a temporary table, then one `INSERT ... SELECT ... ON CONFLICT`.
   Both write into an empty `analytics_daily`. Goal: ratio >= 0.5.
2. Calls: adAnalytics calls of one sync of 206 ad accounts (200 made here, 6 seeded) over a
   90-day window, against the minimum LinkedIn's limits allow. The minimum assumes one token
   reads every account, so accounts can share calls: each level needs ceil(rows / 15,000)
   calls per chunk of 18 metrics (20 fields minus dateRange and pivotValues), and the sync asks
   for 5 metrics, one chunk. `rows` is the level's true row count over all accounts, from the
   sandbox's row counter. Goal: ratio <= 1.2. State reads (3 finder calls per account) are
   needed for events and are reported apart.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from bench.common import backing_servers, entry, server_process

INGEST_ROWS = 100_000
ACCOUNTS = 200
WINDOW_DAYS = 90
CAMPAIGNS_PER_ACCOUNT = 2
CREATIVES_PER_CAMPAIGN = 1
LEVEL_PIVOTS = {"campaign": "CAMPAIGN_GROUP", "ad_set": "CAMPAIGN", "ad": "CREATIVE"}

BASELINE_UPSERT = """
INSERT INTO analytics_daily SELECT * FROM staging
ON CONFLICT (workspace_id, account_id, level, entity_urn, day) DO UPDATE SET
    impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions, spend_local = EXCLUDED.spend_local,
    spend_usd = EXCLUDED.spend_usd, currency = EXCLUDED.currency,
    usd_method = EXCLUDED.usd_method, api_version = EXCLUDED.api_version,
    pulled_at = EXCLUDED.pulled_at, metrics = analytics_daily.metrics || EXCLUDED.metrics
"""


def pulled_rows(count: int) -> dict[tuple[int, str, date], dict[str, Any]]:
    rng = random.Random(7)
    rows = {}
    start = date(2026, 1, 1)
    for index in range(count):
        account = 500_000_000 + index % 50
        key = (account, f"urn:li:sponsoredCreative:{index // 90}", start + timedelta(index % 90))
        clicks = rng.randint(0, 60)
        cost = Decimal(rng.randint(100, 50_000)) / 100
        rows[key] = {
            "impressions": rng.randint(500, 9000),
            "clicks": clicks,
            "externalWebsiteConversions": clicks // 10,
            "costInLocalCurrency": cost,
            "costInUsd": cost,
        }
    return rows


async def ingestion(database_url: str) -> tuple[float, float]:
    from app.analytics.ingest import build_records, store_pull
    from app.core.database import create_engine, create_session_factory

    rows = pulled_rows(INGEST_ROWS)
    accounts = {account for account, _, _ in rows}
    workspaces = dict.fromkeys(accounts, "bench")
    currencies = dict.fromkeys(accounts, "USD")
    now = datetime.now(UTC)
    plain = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    engine = create_engine(database_url)
    try:
        await connection.execute("TRUNCATE analytics_daily, analytics_pulls")
        async with create_session_factory(engine)() as session, session.begin():
            started = time.perf_counter()
            await store_pull(
                session,
                rows,
                workspaces=workspaces,
                currencies=currencies,
                level="ad",
                start=date(2026, 1, 1),
                end=date(2026, 3, 31),
                extra_metrics=[],
                api_version="202601",
                pulled_at=now,
            )
        ours = INGEST_ROWS / (time.perf_counter() - started)

        await connection.execute("TRUNCATE analytics_daily, analytics_pulls")
        records = build_records(
            rows,
            workspaces=workspaces,
            currencies=currencies,
            level="ad",
            api_version="202601",
            pulled_at=now,
            books={},
        )
        tuples = list(zip(*records.columns, strict=True))
        started = time.perf_counter()
        async with connection.transaction():
            await connection.execute(
                "CREATE TEMP TABLE staging (LIKE analytics_daily) ON COMMIT DROP"
            )
            await connection.copy_records_to_table("staging", records=tuples)
            await connection.execute(BASELINE_UPSERT)
        baseline = INGEST_ROWS / (time.perf_counter() - started)
        count = await connection.fetchval("SELECT count(*) FROM analytics_daily")
        assert count == INGEST_ROWS, count
    finally:
        await connection.close()
        await engine.dispose()
    return ours, baseline


async def make_entities(sandbox_url: str) -> list[int]:
    """Make the benchmark's accounts, campaigns and creatives in the sandbox; return the ids."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as admin:
        token = (await admin.post("/_sandbox/tokens", json={})).json()["access_token"]
        state = (await admin.get("/_sandbox/state")).json()
    organization = state["members"][0]["organizations"][0]
    headers = {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": "202601",
        "X-Restli-Protocol-Version": "2.0.0",
    }
    # The sandbox reports delivery only from an entity's creation day on, so the entities are
    # made with its clock 100 days back, and the 90-day sync finds every day active.
    shift = 100 * 86_400
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as admin:
        await admin.post("/_sandbox/clock", json={"advance_seconds": -shift})
    try:
        return await _create_accounts(sandbox_url, headers, organization)
    finally:
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as admin:
            await admin.post("/_sandbox/clock", json={"advance_seconds": shift})


async def _create_accounts(
    sandbox_url: str, headers: dict[str, str], organization: str
) -> list[int]:
    async with httpx.AsyncClient(base_url=sandbox_url, headers=headers, timeout=60) as api:
        gate = asyncio.Semaphore(16)

        async def one_account(index: int) -> int:
            async with gate:
                made = await api.post(
                    "/rest/adAccounts",
                    json={"name": f"Bench {index}", "reference": organization, "type": "BUSINESS"},
                )
                account = int(made.headers["x-restli-id"])
                groups = await api.get(
                    f"/rest/adAccounts/{account}/adCampaignGroups", params={"q": "search"}
                )
                group = groups.json()["elements"][0]["id"]
                for _ in range(CAMPAIGNS_PER_ACCOUNT):
                    campaign = await api.post(
                        f"/rest/adAccounts/{account}/adCampaigns",
                        json=campaign_body(account, group),
                    )
                    campaign_id = campaign.headers["x-restli-id"]
                    for _ in range(CREATIVES_PER_CAMPAIGN):
                        await api.post(
                            f"/rest/adAccounts/{account}/creatives",
                            json={
                                "campaign": f"urn:li:sponsoredCampaign:{campaign_id}",
                                "content": {"reference": "urn:li:share:6778045555198214144"},
                                "intendedStatus": "ACTIVE",
                                "name": "Bench",
                            },
                        )
                return account

        return list(await asyncio.gather(*(one_account(i) for i in range(ACCOUNTS))))


def campaign_body(account: int, group: int) -> dict[str, Any]:
    return {
        "account": f"urn:li:sponsoredAccount:{account}",
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group}",
        "name": "Bench",
        "type": "SPONSORED_UPDATES",
        "costType": "CPM",
        "optimizationTargetType": "MAX_CLICK",
        "offsiteDeliveryEnabled": False,
        "politicalIntent": "NOT_POLITICAL",
        "locale": {"country": "US", "language": "en"},
        "dailyBudget": {"amount": "50", "currencyCode": "USD"},
        "unitCost": {"amount": "0", "currencyCode": "USD"},
        "targetingCriteria": {
            "include": {
                "and": [{"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:92000000"]}}]
            }
        },
        "status": "ACTIVE",
    }


async def sync_calls(database_url: str, redis_url: str, sandbox_url: str) -> dict[str, int]:
    from tests.conftest import make_settings, running_service

    await make_entities(sandbox_url)
    settings = make_settings(
        database_url,
        redis_url,
        sandbox_url,
        linkedin_ads_sync_window_days=WINDOW_DAYS,
        linkedin_ads_sync_claim_batch=500,
    )
    async with running_service(settings) as service:
        await service.connect()
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=120) as admin:
            await admin.delete("/_sandbox/requests")
            result = await service.app.state.sync.run_once()
            status = (await service.api.get("/v1/sync/status")).json()
            errors = [item["lastSyncError"] for item in status["items"] if item["lastSyncError"]]
            log = (await admin.get("/_sandbox/requests", params={"path_prefix": "/rest/"})).json()
            accounts = [a["id"] for a in (await admin.get("/_sandbox/state")).json()["accounts"]]
            today = datetime.now(UTC).date()
            start = today - timedelta(days=WINDOW_DAYS - 1)
            minimum = 0
            rows = 0
            for pivot in LEVEL_PIVOTS.values():
                counted = (
                    await admin.post(
                        "/_sandbox/analytics/rows",
                        json={
                            "accounts": accounts,
                            "pivots": [pivot],
                            "start": str(start),
                            "end": str(today),
                            "fields": [
                                "externalWebsiteConversions",
                                "impressions",
                                "clicks",
                                "costInUsd",
                                "costInLocalCurrency",
                            ],
                        },
                    )
                ).json()
                rows += counted["rows"]
                minimum += max(1, math.ceil(counted["rows"] / 15_000))
    analytics = sum(1 for item in log["requests"] if item["path"] == "/rest/adAnalytics")
    return {
        "analytics": analytics,
        "minimum": minimum,
        "rows": rows,
        "state_reads": len(log["requests"]) - analytics,
        "failed": result.accounts_failed,
        "errors": errors[:3],
    }


def run() -> list[dict[str, Any]]:
    from app.cli import migrate

    with backing_servers() as (database_url, redis_url):
        migrate(database_url)
        ours, baseline = asyncio.run(ingestion(database_url))
        with server_process(
            ["-m", "app.sandbox", "--host", "127.0.0.1", "--port", "{port}"],
            health_path="/_sandbox/state",
        ) as (sandbox_url, _):
            calls = asyncio.run(sync_calls(database_url, redis_url, sandbox_url))
    failed = f", {calls['failed']} accounts failed: {calls['errors']}" if calls["failed"] else ""
    return [
        entry("analytics ingestion rows/s vs COPY + upsert", ours, baseline, ">= 0.5", "rows/s"),
        entry(
            f"adAnalytics calls, {ACCOUNTS}-account {WINDOW_DAYS}-day sync vs minimum "
            f"({calls['rows']} rows{failed})",
            calls["analytics"],
            calls["minimum"],
            "<= 1.2",
            "calls",
        ),
    ]


if __name__ == "__main__":
    for item in run():
        print(item)
