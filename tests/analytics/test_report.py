"""On-demand analytics through the service: pulled right, stored exactly, served while fresh."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.analytics.cli import read_rates, store_fx_rates
from app.analytics.pull import AnalyticsPuller
from tests.analytics.helpers import count_rows, seeded_accounts
from tests.conftest import Service

START, END = "2026-01-01", "2026-01-31"


async def analytics_calls(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    log = await sandbox.get("/_sandbox/requests", params={"path_prefix": "/rest/adAnalytics"})
    return list(log.json()["requests"])


async def report(service: Service, account: int, **params: str) -> dict[str, Any]:
    response = await service.api.get(
        f"/v1/ad-accounts/{account}/analytics", params={"start": START, "end": END, **params}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_report_matches_sandbox(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    await live_service.connect()
    us = delivering["us"]
    body = await report(live_service, us["id"], level="ad_set")
    expected = await count_rows(
        sandbox, [us["id"]], "CAMPAIGN", START, END, ["impressions", "clicks", "costInUsd"]
    )
    assert body["source"] == "linkedin"
    assert body["granularity"] == "DAILY"
    assert len(body["rows"]) == expected["rows"]
    assert sum(row["impressions"] for row in body["rows"]) == int(expected["sums"]["impressions"])
    assert sum(Decimal(row["spendUsd"]) for row in body["rows"]) == Decimal(
        expected["sums"]["costInUsd"]
    )
    row = body["rows"][0]
    assert row["spend"] == row["spendUsd"]
    assert row["usdMethod"] == "linkedin"
    assert isinstance(row["spend"], str)
    call = (await analytics_calls(sandbox))[0]
    fields = call["query"].split("fields=", 1)[1].split("&", 1)[0].split(",")
    assert set(fields) == {
        "dateRange",
        "pivotValues",
        "externalWebsiteConversions",
        "impressions",
        "clicks",
        "costInUsd",
        "costInLocalCurrency",
    }


async def test_second_report_from_store(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    await live_service.connect()
    account = delivering["us"]["id"]
    first = await report(live_service, account)
    second = await report(live_service, account, granularity="MONTHLY")
    assert second["source"] == "store"
    assert len(await analytics_calls(sandbox)) == 1
    assert len(second["rows"]) == 1
    assert second["rows"][0]["impressions"] == sum(row["impressions"] for row in first["rows"])
    assert Decimal(second["rows"][0]["spend"]) == sum(Decimal(r["spend"]) for r in first["rows"])


async def test_many_fields_split(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    await live_service.connect()
    extras = [
        "landingPageClicks",
        "likes",
        "shares",
        "comments",
        "follows",
        "reactions",
        "totalEngagements",
        "otherEngagements",
        "companyPageClicks",
        "actionClicks",
        "adUnitClicks",
        "textUrlClicks",
        "videoViews",
        "videoStarts",
        "videoCompletions",
        "fullScreenPlays",
        "oneClickLeads",
        "oneClickLeadFormOpens",
    ]
    body = await report(
        live_service,
        delivering["us"]["id"],
        level="ad_set",
        fields=",".join(["spend", "clicks", *extras]),
        granularity="ALL",
    )
    calls = await analytics_calls(sandbox)
    assert len(calls) == 2
    for call in calls:
        fields = call["query"].split("fields=", 1)[1].split("&", 1)[0].split(",")
        assert len(fields) <= 20
    expected = await count_rows(
        sandbox,
        [delivering["us"]["id"]],
        "CAMPAIGN",
        START,
        END,
        ["videoCompletions", "landingPageClicks"],
    )
    assert sum(r["metrics"]["videoCompletions"] for r in body["rows"]) == int(
        expected["sums"]["videoCompletions"]
    )
    assert sum(r["metrics"]["landingPageClicks"] for r in body["rows"]) == int(
        expected["sums"]["landingPageClicks"]
    )


async def test_large_creative_report(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    await live_service.connect()
    account = delivering["us"]["id"]
    await sandbox.post("/_sandbox/analytics", json={"synthetic_creatives": {str(account): 200}})
    response = await live_service.api.get(
        f"/v1/ad-accounts/{account}/analytics",
        params={"start": "2026-01-01", "end": "2026-03-31", "level": "ad"},
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    expected = await count_rows(sandbox, [account], "CREATIVE", "2026-01-01", "2026-03-31")
    assert expected["rows"] > 15_000
    assert len(rows) == expected["rows"]
    assert sum(row["impressions"] for row in rows) == int(expected["sums"]["impressions"])
    assert len({(row["entityUrn"], row["start"]) for row in rows}) == len(rows)
    assert len(await analytics_calls(sandbox)) >= 3


async def test_unknown_field_rejected(live_service: Service, delivering: dict[str, Any]) -> None:
    await live_service.connect()
    response = await live_service.api.get(
        f"/v1/ad-accounts/{delivering['us']['id']}/analytics",
        params={"start": START, "end": END, "fields": "spend,bogus"},
    )
    assert response.status_code == 422
    assert "bogus" in response.json()["error"]["message"]


async def test_empty_but_readable(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    await live_service.connect()
    account = (await seeded_accounts(sandbox))["Northwind UK"]["id"]
    body = await report(live_service, account)
    assert body["rows"] == []
    assert body["source"] == "linkedin"


async def test_empty_without_access(
    live_service: Service, sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await live_service.connect()
    foreign = (await seeded_accounts(sandbox))["Contoso Fitness"]["id"]
    async with db_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO ad_accounts (id, workspace_id, connection_id, account_id, name, "
                "currency, status, test, created_at, updated_at) VALUES (:id, 'workspace-a', "
                ":connection, :account, 'Foreign', 'USD', 'ACTIVE', false, now(), now())"
            ),
            {"id": uuid.uuid4(), "connection": uuid.UUID(connection_id), "account": foreign},
        )
    response = await live_service.api.get(
        f"/v1/ad-accounts/{foreign}/analytics", params={"start": START, "end": END}
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["reason"] == "no_access_to_account"


async def test_usd_from_rate_table(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any], tmp_path: Path
) -> None:
    await live_service.connect()
    await sandbox.post("/_sandbox/analytics", json={"omit_cost_in_usd": ["EUR"]})
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "date,currency,usd_per_unit\n2025-12-31,EUR,1.0850\n2026-01-07,EUR,1.0850\n"
        "2026-01-15,EUR,1.1000\n2026-01-22,EUR,1.1000\n2026-01-29,EUR,1.1000\n"
    )
    loaded = read_rates(rates)
    assert await store_fx_rates(live_service.app.state.settings.database_url, loaded) == 5
    body = await report(live_service, delivering["eu"]["id"])
    assert body["currency"] == "EUR"
    for row in body["rows"]:
        rate = Decimal("1.0850") if row["start"] < "2026-01-15" else Decimal("1.1000")
        assert row["usdMethod"] == "fx_table"
        assert Decimal(row["spendUsd"]) == Decimal(row["spend"]) * rate


async def test_upsert_twice_same(
    live_service: Service, db_engine: AsyncEngine, delivering: dict[str, Any]
) -> None:
    await live_service.connect()
    service = live_service.app.state.analytics
    factory = live_service.app.state.session_factory
    tokens = live_service.app.state.tokens
    dump = text("SELECT * FROM analytics_daily ORDER BY entity_urn, day")
    snapshots = []
    now = datetime.now(UTC)
    for _ in range(2):
        async with factory() as session, session.begin():
            access = await tokens.access_for_account(session, "workspace-a", delivering["us"]["id"])
            count = await service.pull_into_store(
                session, access, "ad_set", date(2026, 1, 1), date(2026, 1, 31), [], now
            )
        async with db_engine.connect() as connection:
            snapshots.append((await connection.execute(dump)).all())
    assert count == len(snapshots[0])
    assert snapshots[0] == snapshots[1]


async def test_long_urn_list_tunnelled(
    live_service: Service, sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    connection_id = await live_service.connect()
    app = live_service.app.state
    token = await app.tokens.access_token(uuid.UUID(connection_id))
    accounts = [delivering["us"]["id"], *range(510_000_000, 510_000_120)]
    puller = AnalyticsPuller(app.linkedin)

    async def run_with_token(call: Any) -> Any:
        return await call(token)

    result = await puller.pull(
        run_with_token,
        level="ad_set",
        accounts=accounts,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
    )
    calls = await analytics_calls(sandbox)
    assert len(calls) == 1
    assert calls[0]["method"] == "POST"
    assert calls[0]["headers"]["x-http-method-override"] == "GET"
    assert {key[0] for key in result.rows} == {delivering["us"]["id"]}
    expected = await count_rows(sandbox, [delivering["us"]["id"]], "CAMPAIGN", START, END)
    assert len(result.rows) == expected["rows"]
