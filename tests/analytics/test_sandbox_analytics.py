"""The sandbox's /rest/adAnalytics: parameters, limits, magnitudes, restatement, throttle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.analytics.helpers import ACCOUNT_URN, count_rows, make_campaign, seeded_accounts
from tests.sandbox.helpers import encode, mint_token, rest_headers

JANUARY = {
    "start": {"year": 2026, "month": 1, "day": 1},
    "end": {"year": 2026, "month": 1, "day": 31},
}
FIELDS = "dateRange,pivotValues,impressions,clicks,costInUsd,costInLocalCurrency"


def query(
    account: int,
    pivot: str = "CAMPAIGN",
    fields: str | None = FIELDS,
    date_range: dict[str, Any] | None = None,
    granularity: str = "DAILY",
) -> str:
    parts = [
        "q=analytics",
        f"pivot={pivot}",
        f"timeGranularity={granularity}",
        f"dateRange={encode(date_range or JANUARY)}",
        f"accounts={encode([f'{ACCOUNT_URN}{account}'])}",
    ]
    if fields is not None:
        parts.append(f"fields={fields}")
    return "&".join(parts)


async def elements(api: httpx.AsyncClient, text: str) -> list[dict[str, Any]]:
    response = await api.get(f"/rest/adAnalytics?{text}")
    assert response.status_code == 200, response.text
    return list(response.json()["elements"])


async def test_daily_rows_shape(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    us = delivering["us"]
    rows = await elements(api, query(us["id"]))
    campaigns = {f"urn:li:sponsoredCampaign:{c}" for c in us["campaigns"]}
    assert {row["pivotValues"][0] for row in rows} == campaigns
    assert 50 <= len(rows) <= 62
    for row in rows:
        assert set(row) == {
            "dateRange",
            "pivotValues",
            "impressions",
            "clicks",
            "costInUsd",
            "costInLocalCurrency",
        }
        assert row["dateRange"]["start"] == row["dateRange"]["end"]
        assert isinstance(row["costInUsd"], str)
        assert row["costInUsd"] == row["costInLocalCurrency"]


async def test_magnitudes_realistic(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    rows = await elements(api, query(delivering["us"]["id"]))
    impressions = sum(row["impressions"] for row in rows)
    clicks = sum(row["clicks"] for row in rows)
    cost = sum(Decimal(row["costInUsd"]) for row in rows)
    assert 1_000 < impressions / len(rows) < 10_000
    assert 0.003 < clicks / impressions < 0.011
    assert Decimal(2) < cost / clicks < Decimal(9)


async def test_usd_from_fixed_rate(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    rows = await elements(api, query(delivering["eu"]["id"]))
    assert rows
    for row in rows:
        local = Decimal(row["costInLocalCurrency"])
        assert abs(Decimal(row["costInUsd"]) - local * Decimal("1.08")) < Decimal("0.000001")


async def test_default_fields(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    rows = await elements(api, query(delivering["us"]["id"], fields=None))
    assert rows
    assert all(set(row) == {"impressions", "clicks"} for row in rows)


async def test_zero_rows_omitted(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    rows = await elements(api, query(delivering["us"]["id"], fields="pivotValues,cardClicks"))
    assert rows == []


async def test_pivot_record_form(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    account = delivering["us"]["id"]
    plain = await elements(api, query(account, pivot="CAMPAIGN_GROUP"))
    record = await elements(api, query(account, pivot="(value:CAMPAIGN_GROUP)"))
    assert plain == record
    assert {row["pivotValues"][0] for row in plain} == {
        f"urn:li:sponsoredCampaignGroup:{delivering['us']['group']}"
    }


async def test_group_sums_campaigns(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    account = delivering["us"]["id"]
    groups = await elements(api, query(account, pivot="CAMPAIGN_GROUP", granularity="ALL"))
    campaigns = await elements(api, query(account, granularity="ALL"))
    assert len(groups) == 1
    assert len(campaigns) == 2
    assert groups[0]["impressions"] == sum(row["impressions"] for row in campaigns)
    total = sum(Decimal(row["costInLocalCurrency"]) for row in campaigns)
    assert Decimal(groups[0]["costInLocalCurrency"]) == total


async def test_statistics_two_pivots(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    accounts = [delivering["us"]["id"], delivering["eu"]["id"]]
    urns = encode([ACCOUNT_URN + str(account) for account in accounts])
    text = (
        "q=statistics&pivots=List(ACCOUNT,CAMPAIGN)&timeGranularity=ALL"
        f"&dateRange={encode(JANUARY)}&accounts={urns}&fields=pivotValues,impressions"
    )
    rows = await elements(api, text)
    assert len(rows) == 4
    assert {row["pivotValues"][0] for row in rows} == {ACCOUNT_URN + str(a) for a in accounts}


async def test_tunnelled_post(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    text = query(delivering["us"]["id"])
    tunnelled = await api.post(
        "/rest/adAnalytics",
        content=text,
        headers={
            "X-HTTP-Method-Override": "GET",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert tunnelled.status_code == 200, tunnelled.text
    assert tunnelled.json()["elements"] == await elements(api, text)


async def test_required_params(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    full = query(delivering["us"]["id"])
    for name in ("q", "pivot", "timeGranularity", "dateRange", "accounts"):
        text = "&".join(part for part in full.split("&") if not part.startswith(f"{name}="))
        response = await api.get(f"/rest/adAnalytics?{text}")
        assert response.status_code == 400, name
        assert response.json()["status"] == 400


async def test_field_limit(api: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    names = [
        "dateRange",
        "pivotValues",
        "impressions",
        "clicks",
        "likes",
        "shares",
        "comments",
        "follows",
        "reactions",
        "totalEngagements",
        "otherEngagements",
        "actionClicks",
        "adUnitClicks",
        "textUrlClicks",
        "videoViews",
        "videoStarts",
        "videoCompletions",
        "sends",
        "opens",
        "cardClicks",
    ]
    ok = await api.get(f"/rest/adAnalytics?{query(delivering['us']['id'], fields=','.join(names))}")
    assert ok.status_code == 200
    over = ",".join([*names, "landingPageClicks"])
    response = await api.get(f"/rest/adAnalytics?{query(delivering['us']['id'], fields=over)}")
    assert response.status_code == 400
    assert "21" in response.json()["message"]


async def test_row_cap_truncates(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    account = delivering["us"]["id"]
    await sandbox.post("/_sandbox/analytics", json={"synthetic_creatives": {str(account): 200}})
    quarter = {
        "start": {"year": 2026, "month": 1, "day": 1},
        "end": {"year": 2026, "month": 3, "day": 31},
    }
    rows = await elements(api, query(account, pivot="CREATIVE", date_range=quarter))
    expected = await count_rows(sandbox, [account], "CREATIVE", "2026-01-01", "2026-03-31")
    assert expected["rows"] > 15_000
    assert len(rows) == 15_000


async def test_volume_throttle(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    await sandbox.post("/_sandbox/analytics", json={"volume_limit": 500})
    text = query(delivering["us"]["id"])
    assert (await api.get(f"/rest/adAnalytics?{text}")).status_code == 200
    throttled = await api.get(f"/rest/adAnalytics?{text}")
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["serviceErrorCode"] == 101
    assert "45 million" in body["message"]
    assert "retry-after" not in throttled.headers
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 301})
    assert (await api.get(f"/rest/adAnalytics?{text}")).status_code == 200


async def test_recent_days_restated(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    now_ms = (await sandbox.get("/_sandbox/clock")).json()["now_ms"]
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    first = today - timedelta(days=9)
    window = {
        "start": {"year": first.year, "month": first.month, "day": first.day},
        "end": {"year": today.year, "month": today.month, "day": today.day},
    }
    text = query(delivering["us"]["id"], date_range=window)
    before = await elements(api, text)
    assert await elements(api, text) == before
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 3600})
    after = await elements(api, text)

    def by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
        return {
            (row["pivotValues"][0], row["dateRange"]["start"]["day"]): row["impressions"]
            for row in rows
        }

    old, new = by_key(before), by_key(after)
    recent = {(today - timedelta(days=n)).day for n in range(3)}
    assert any(old[key] != new[key] for key in old if key[1] in recent and key in new)
    assert all(old[key] == new[key] for key in old if key[1] not in recent)


async def test_no_access_empty(sandbox: httpx.AsyncClient, delivering: dict[str, Any]) -> None:
    token = await mint_token(sandbox, "sandbox-member-2")
    async with httpx.AsyncClient(
        base_url=str(sandbox.base_url), headers=rest_headers(token)
    ) as other:
        response = await other.get(f"/rest/adAnalytics?{query(delivering['us']['id'])}")
    assert response.status_code == 200
    assert response.json()["elements"] == []


async def test_needs_reporting_scope(
    sandbox: httpx.AsyncClient, delivering: dict[str, Any]
) -> None:
    token = await mint_token(sandbox, scopes=["r_ads"])
    async with httpx.AsyncClient(
        base_url=str(sandbox.base_url), headers=rest_headers(token)
    ) as client:
        response = await client.get(f"/rest/adAnalytics?{query(delivering['us']['id'])}")
    assert response.status_code == 403


DAY_MS = 86_400_000


def date_range(first: date, last: date) -> dict[str, Any]:
    return {
        "start": {"year": first.year, "month": first.month, "day": first.day},
        "end": {"year": last.year, "month": last.month, "day": last.day},
    }


async def sandbox_today(sandbox: httpx.AsyncClient) -> tuple[date, int]:
    now_ms = int((await sandbox.get("/_sandbox/clock")).json()["now_ms"])
    return datetime.fromtimestamp(now_ms / 1000, UTC).date(), now_ms


async def make_group(
    api: httpx.AsyncClient,
    account: int,
    status: str,
    start_ms: int,
    end_ms: int | None = None,
    budget: str | None = None,
) -> int:
    schedule = {"start": start_ms} if end_ms is None else {"start": start_ms, "end": end_ms}
    body: dict[str, Any] = {
        "account": f"{ACCOUNT_URN}{account}",
        "name": "Scheduled group",
        "runSchedule": schedule,
        "status": status,
    }
    if budget is not None:
        body["totalBudget"] = {"amount": budget, "currencyCode": "USD"}
    response = await api.post(f"/rest/adAccounts/{account}/adCampaignGroups", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["x-restli-id"])


def days_of(rows: list[dict[str, Any]]) -> set[date]:
    return {date(**row["dateRange"]["start"]) for row in rows}


async def test_new_paused_group_has_no_history(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    us = (await seeded_accounts(sandbox))["Northwind US"]
    today, now_ms = await sandbox_today(sandbox)
    start_ms = now_ms + 37 * DAY_MS
    group = await make_group(
        api, us["id"], "PAUSED", start_ms, end_ms=start_ms + 30 * DAY_MS, budget="100"
    )
    await make_campaign(api, us["id"], group, "USD")
    month = date_range(today - timedelta(days=33), today - timedelta(days=3))
    assert await elements(api, query(us["id"], date_range=month)) == []
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 45 * 86_400})
    assert await elements(api, query(us["id"], date_range=month)) == []


async def test_delivery_follows_schedule(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    us = (await seeded_accounts(sandbox))["Northwind US"]
    today, now_ms = await sandbox_today(sandbox)
    created = await make_campaign(api, us["id"], us["group"], "USD", name="From today")
    group = await make_group(api, us["id"], "ACTIVE", now_ms + 5 * DAY_MS)
    scheduled = await make_campaign(api, us["id"], group, "USD", name="Later")
    paused = await make_campaign(api, us["id"], us["group"], "USD", status="PAUSED")
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 20 * 86_400})
    window = date_range(today - timedelta(days=10), today + timedelta(days=30))
    rows = await elements(api, query(us["id"], date_range=window))
    by_campaign: dict[str, set[date]] = {}
    for row in rows:
        by_campaign.setdefault(row["pivotValues"][0], set()).add(date(**row["dateRange"]["start"]))
    from_today = by_campaign[f"urn:li:sponsoredCampaign:{created}"]
    assert min(from_today) >= today
    assert max(from_today) <= today + timedelta(days=20)
    assert len(from_today) >= 15
    later = by_campaign[f"urn:li:sponsoredCampaign:{scheduled}"]
    assert min(later) >= today + timedelta(days=5)
    assert f"urn:li:sponsoredCampaign:{paused}" not in by_campaign


async def test_schedule_end_is_exclusive(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    us = (await seeded_accounts(sandbox))["Northwind US"]
    today, now_ms = await sandbox_today(sandbox)
    midnight_ms = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp() * 1000)
    end_ms = midnight_ms + 6 * DAY_MS
    group = await make_group(api, us["id"], "ACTIVE", now_ms + 60_000, end_ms=end_ms)
    await make_campaign(api, us["id"], group, "USD")
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 20 * 86_400})
    window = date_range(today, today + timedelta(days=20))
    days = days_of(await elements(api, query(us["id"], date_range=window)))
    assert days
    assert max(days) <= today + timedelta(days=5)


async def test_spend_stays_within_budgets(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    us = (await seeded_accounts(sandbox))["Northwind US"]
    today, now_ms = await sandbox_today(sandbox)
    group = await make_group(
        api, us["id"], "ACTIVE", now_ms + 60_000, end_ms=now_ms + 60 * DAY_MS, budget="100"
    )
    first = await make_campaign(api, us["id"], group, "USD", name="First")
    await make_campaign(api, us["id"], group, "USD", name="Second")
    limited = await make_campaign(api, us["id"], us["group"], "USD", name="Limited")
    response = await api.post(
        f"/rest/adAccounts/{us['id']}/adCampaigns/{limited}",
        json={
            "patch": {
                "$set": {
                    "runSchedule": {"start": now_ms + 60_000, "end": now_ms + 60 * DAY_MS},
                    "totalBudget": {"amount": "250", "currencyCode": "USD"},
                }
            }
        },
        headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
    )
    assert response.status_code == 204, response.text
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 30 * 86_400})
    window = date_range(today, today + timedelta(days=30))
    rows = await elements(api, query(us["id"], date_range=window))
    spend: dict[str, Decimal] = {}
    for row in rows:
        key = row["pivotValues"][0]
        spend[key] = spend.get(key, Decimal(0)) + Decimal(row["costInLocalCurrency"])
    group_rows = await elements(api, query(us["id"], pivot="CAMPAIGN_GROUP", date_range=window))
    group_spend = sum(
        Decimal(row["costInLocalCurrency"])
        for row in group_rows
        if row["pivotValues"][0] == f"urn:li:sponsoredCampaignGroup:{group}"
    )
    assert Decimal(99) < group_spend <= Decimal(100)
    assert Decimal(240) < spend[f"urn:li:sponsoredCampaign:{limited}"] <= Decimal(250)
    assert spend[f"urn:li:sponsoredCampaign:{first}"] > 0

    later = date_range(today + timedelta(days=10), today + timedelta(days=30))
    late_rows = await elements(api, query(us["id"], date_range=later))
    assert all(row["pivotValues"][0] != f"urn:li:sponsoredCampaign:{first}" for row in late_rows)
