"""Two sync workers over 50 ad accounts: every account is synced exactly once."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from urllib.parse import unquote

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.analytics.helpers import make_account, make_campaign
from tests.conftest import running_service
from tests.sync.conftest import sandbox_requests

ACCOUNTS = 50


async def test_two_workers_sync_once(
    service_settings,
    db_engine: AsyncEngine,
    redis,  # type: ignore[no-untyped-def]
    sandbox: httpx.AsyncClient,
    api: httpx.AsyncClient,
) -> None:
    state = (await sandbox.get("/_sandbox/state")).json()
    organization = state["members"][0]["organizations"][0]
    created = []
    for index in range(ACCOUNTS):
        created.append(await make_account(api, f"Race {index}", organization))
    state = (await sandbox.get("/_sandbox/state")).json()
    default_groups = {group["account"]: group["id"] for group in state["campaign_groups"]}
    for account in created[:10]:
        await make_campaign(api, account, default_groups[account], "USD")

    settings = service_settings.model_copy(update={"linkedin_ads_sync_claim_batch": 5})
    async with running_service(settings) as first, running_service(settings) as second:
        await first.connect()
        await sandbox.delete("/_sandbox/requests")
        results = await asyncio.gather(
            first.app.state.sync.run_once(), second.app.state.sync.run_once()
        )

    connected = {
        account["id"]
        for account in state["accounts"]
        if any(a["id"] == account["id"] for a in state["members"][0]["accounts"])
    }
    synced = [set(result.account_ids) for result in results]
    assert synced[0].isdisjoint(synced[1])
    assert synced[0] | synced[1] == connected
    assert len(connected) == ACCOUNTS + 6

    reads = Counter()
    for entry in await sandbox_requests(sandbox, "/rest/adAccounts/"):
        match = re.match(r"/rest/adAccounts/(\d+)/adCampaignGroups$", entry["path"])
        if match:
            reads[int(match.group(1))] += 1
    assert set(reads) == connected
    assert set(reads.values()) == {1}

    pulled: Counter[tuple[str, int]] = Counter()
    for entry in await sandbox_requests(sandbox, "/rest/adAnalytics"):
        query = unquote(entry.get("tunnelled_query") or entry["query"])
        pivot = re.search(r"pivots?=(?:List\(ACCOUNT,)?([A-Z_]+)", query)
        assert pivot is not None
        for account in re.findall(r"urn:li:sponsoredAccount:(\d+)", query):
            pulled[(pivot.group(1), int(account))] += 1
    assert set(pulled.values()) == {1}
    assert {account for _, account in pulled} == connected
    assert {pivot for pivot, _ in pulled} == {"CAMPAIGN_GROUP", "CAMPAIGN", "CREATIVE"}

    async with db_engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT count(*), count(last_synced_at), count(last_sync_error) "
                    "FROM ad_accounts"
                )
            )
        ).one()
    assert tuple(rows) == (ACCOUNTS + 6, ACCOUNTS + 6, 0)
