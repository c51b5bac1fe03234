"""Experiment results checked against values computed here by hand from the raw counts.

The sandbox's analytics are a seeded pseudo-random function of the entity ids, so they cannot
be steered to a chosen winner. The known-winner tests therefore write known rows into
`analytics_daily`, the table the results read, for dry-run ad sets (whose URNs LinkedIn has no
data for, so nothing is pulled over them). The last test checks the pull path against sums
read from the sandbox's own `/rest/adAnalytics`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.ad_sets.helpers import campaign_body
from tests.analytics.helpers import created_on
from tests.conftest import Service
from tests.experiments.helpers import account_with, create, experiment_body
from tests.sandbox.helpers import encode, mint_token, rest_headers

WORKSPACE = "workspace-a"
Z95 = 1.959963984540054


def today() -> date:
    return datetime.now(UTC).date()


async def execute(service: Service, statement: str, values: dict[str, Any]) -> None:
    async with service.app.state.session_factory() as session:
        await session.execute(text(statement), values)
        await session.commit()


async def set_history(
    service: Service, experiment: str, changes: list[tuple[str, str, datetime]]
) -> None:
    """Replace the variants' status history with `changes` (variant, status, time)."""
    await execute(
        service,
        "DELETE FROM experiment_status_changes WHERE experiment_id = :id",
        {"id": experiment},
    )
    for key, status, moment in changes:
        await execute(
            service,
            "INSERT INTO experiment_status_changes (experiment_id, "
            "variant_key, status, changed_at) VALUES (:id, :key, :status, :at)",
            {"id": experiment, "key": key, "status": status, "at": moment},
        )


async def add_rows(
    service: Service,
    account: str,
    ad_set: str,
    days: list[date],
    impressions: int,
    clicks: int,
    conversions: int,
    spend: str,
) -> None:
    for day in days:
        await execute(
            service,
            "INSERT INTO analytics_daily (workspace_id, account_id, level, entity_urn, day, "
            "impressions, clicks, conversions, spend_local, spend_usd, currency, usd_method, "
            "metrics, api_version, pulled_at) VALUES (:workspace, :account, 'ad_set', :urn, "
            ":day, :impressions, :clicks, :conversions, :spend, :spend, 'USD', "
            "'account_currency', '{}', '202402', now())",
            {
                "workspace": WORKSPACE,
                "account": int(account),
                "urn": f"urn:li:sponsoredCampaign:{ad_set}",
                "day": day,
                "impressions": impressions,
                "clicks": clicks,
                "conversions": conversions,
                "spend": Decimal(spend),
            },
        )


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2))
    return centre - half, centre + half


def expected(x1: int, n1: int, x2: int, n2: int, z_critical: float = Z95) -> dict[str, float]:
    """Pooled two-proportion z-test and Newcombe's hybrid score interval, written out."""
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    l1, u1 = wilson(x1, n1, z_critical)
    l2, u2 = wilson(x2, n2, z_critical)
    d = p2 - p1
    return {
        "z": z,
        "p": math.erfc(abs(z) / math.sqrt(2)),
        "difference": d,
        "low": d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2),
        "high": d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2),
    }


def check_metric(metric: dict[str, Any], hand: dict[str, float]) -> None:
    assert metric["z"] == pytest.approx(hand["z"], rel=1e-9)
    assert metric["pValue"] == pytest.approx(hand["p"], rel=1e-6)
    assert metric["difference"] == pytest.approx(hand["difference"], rel=1e-12)
    assert metric["ciLow"] == pytest.approx(hand["low"], rel=1e-9)
    assert metric["ciHigh"] == pytest.approx(hand["high"], rel=1e-9)


async def test_known_winner_by_hand(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    experiment = await create(service, account)
    a, b = (v["adSetId"] for v in experiment["variants"])
    path = f"/v1/ad-accounts/{account}/experiments/{experiment['id']}"
    assert (await service.api.post(f"{path}/activate")).status_code == 200
    started = datetime.now(UTC) - timedelta(days=10)
    await set_history(
        service, experiment["id"], [("A", "ACTIVE", started), ("B", "ACTIVE", started)]
    )
    days = [today() - timedelta(days=offset) for offset in range(1, 10)]
    await add_rows(service, account, a, days, 2000, 12, 1, "60.00")
    await add_rows(service, account, b, days, 2000, 20, 3, "90.00")

    response = await service.api.get(f"{path}/results")
    assert response.status_code == 200, response.text
    results = response.json()
    assert results["decision"] == "winner"
    assert results["winner"] == "B"
    assert results["start"] == str(started.date())
    assert results["end"] == str(today())

    control, treatment = results["variants"]
    assert (control["impressions"], control["clicks"], control["conversions"]) == (18000, 108, 9)
    assert (treatment["impressions"], treatment["clicks"], treatment["conversions"]) == (
        18000,
        180,
        27,
    )
    assert control["activeDays"] == 11
    assert control["spendUsd"] == "540.00"
    assert control["cpc"] == "5.00"
    assert control["cpa"] == "60.00"
    assert treatment["cpc"] == "4.50"
    assert treatment["cpa"] == "30.00"
    assert control["spendUsdPerActiveDay"] == "49.09"
    assert control["ctr"] == pytest.approx(108 / 18000)
    assert treatment["conversionRate"] == pytest.approx(27 / 180)
    assert control["sampleSufficient"] is True

    comparison = results["comparisons"][0]
    assert comparison["basis"] == "overlap_days"
    assert comparison["controlCounts"] == {
        "impressions": 18000,
        "clicks": 108,
        "conversions": 9,
        "days": 11,
    }
    check_metric(comparison["ctr"], expected(108, 18000, 180, 18000))
    check_metric(comparison["conversionRate"], expected(9, 108, 27, 180))
    assert comparison["ctr"]["significant"] is True
    assert comparison["ctr"]["relativeLift"] == pytest.approx(180 / 108 - 1)
    # p is about 0.098 for the conversion rate: not significant at 0.05.
    assert comparison["conversionRate"]["significant"] is False
    assert comparison["conversionRate"]["pValue"] > 0.05

    method = results["method"]
    assert method["confidence"] == 0.95
    assert method["alpha"] == pytest.approx(0.05)
    assert method["minimumSample"] == {"impressions": 1000, "clicks": 100}
    assert "z-test" in method["test"]
    assert "Newcombe" in method["interval"]

    concluded = await service.api.post(f"{path}/conclude", json={"others": "ARCHIVED"})
    assert concluded.status_code == 200, concluded.text
    assert concluded.json()["winner"] == "B"
    assert [v["status"] for v in concluded.json()["variants"]] == ["ARCHIVED", "ACTIVE"]


async def test_small_sample_calls_no_winner(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    experiment = await create(service, account)
    a, b = (v["adSetId"] for v in experiment["variants"])
    started = datetime.now(UTC) - timedelta(days=3)
    await set_history(
        service, experiment["id"], [("A", "ACTIVE", started), ("B", "ACTIVE", started)]
    )
    yesterday = [today() - timedelta(days=1)]
    await add_rows(service, account, a, yesterday, 5000, 10, 1, "50")
    await add_rows(service, account, b, yesterday, 5000, 60, 6, "50")

    response = await service.api.get(
        f"/v1/ad-accounts/{account}/experiments/{experiment['id']}/results"
    )
    results = response.json()
    assert results["decision"] == "insufficient_sample"
    assert results["winner"] is None
    comparison = results["comparisons"][0]
    assert comparison["sampleSufficient"] is False
    # The difference is large, but 10 clicks is under the minimum of 100.
    check_metric(comparison["ctr"], expected(10, 5000, 60, 5000))
    assert comparison["ctr"]["pValue"] < 1e-6
    assert comparison["ctr"]["significant"] is False
    assert [v["sampleSufficient"] for v in results["variants"]] == [False, False]


async def test_rotation_counts_active_days(service: Service) -> None:
    """Rows of days a variant was paused are left out, and rotated variants (no shared days
    with enough sample) are compared on their own active days."""
    await service.connect()
    account = await account_with(service)
    experiment = await create(service, account)
    a, b = (v["adSetId"] for v in experiment["variants"])
    now = datetime.now(UTC)
    await set_history(
        service,
        experiment["id"],
        [
            ("A", "ACTIVE", now - timedelta(days=10)),
            ("B", "PAUSED", now - timedelta(days=10)),
            ("A", "PAUSED", now - timedelta(days=5)),
            ("B", "ACTIVE", now - timedelta(days=5)),
        ],
    )
    first_half = [today() - timedelta(days=offset) for offset in range(5, 11)]
    second_half = [today() - timedelta(days=offset) for offset in range(1, 6)]
    await add_rows(service, account, a, first_half, 1500, 20, 2, "100")
    await add_rows(service, account, a, second_half[:-1], 5000, 100, 10, "400")
    await add_rows(service, account, b, second_half, 1500, 30, 2, "100")

    results = (
        await service.api.get(f"/v1/ad-accounts/{account}/experiments/{experiment['id']}/results")
    ).json()
    control, treatment = results["variants"]
    assert (control["activeDays"], treatment["activeDays"]) == (6, 6)
    assert (control["impressions"], control["clicks"]) == (9000, 120)
    assert (treatment["impressions"], treatment["clicks"]) == (7500, 150)
    assert control["impressionsPerActiveDay"] == 1500
    assert treatment["impressionsPerActiveDay"] == 1250
    comparison = results["comparisons"][0]
    assert comparison["basis"] == "active_days"
    assert comparison["treatmentCounts"]["days"] == 6
    check_metric(comparison["ctr"], expected(120, 9000, 150, 7500))


async def sandbox_sums(
    sandbox: httpx.AsyncClient, ad_sets: list[str], start: date, end: date
) -> dict[str, dict[str, Decimal]]:
    """Sum the sandbox's own daily rows per campaign, read without the service."""
    token = await mint_token(sandbox)
    urns = [f"urn:li:sponsoredCampaign:{ad_set}" for ad_set in ad_sets]
    date_range = {
        "start": {"year": start.year, "month": start.month, "day": start.day},
        "end": {"year": end.year, "month": end.month, "day": end.day},
    }
    query = (
        f"q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange={encode(date_range)}"
        f"&campaigns={encode(urns)}&fields=dateRange,pivotValues,impressions,clicks,"
        "externalWebsiteConversions,costInUsd"
    )
    response = await sandbox.get(f"/rest/adAnalytics?{query}", headers=rest_headers(token))
    assert response.status_code == 200, response.text
    sums = {
        urn: {
            "impressions": Decimal(0),
            "clicks": Decimal(0),
            "conversions": Decimal(0),
            "spend": Decimal(0),
        }
        for urn in urns
    }
    for row in response.json()["elements"]:
        total = sums[row["pivotValues"][0]]
        total["impressions"] += row.get("impressions", 0)
        total["clicks"] += row.get("clicks", 0)
        total["conversions"] += row.get("externalWebsiteConversions", 0)
        total["spend"] += Decimal(row.get("costInUsd", "0"))
    return sums


async def test_live_results_match_sandbox(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    # The sandbox reports delivery from an entity's creation and start day on, so the
    # experiment is made with the sandbox clock ten days back, starting nine days ago.
    started = datetime.now(UTC) - timedelta(days=8)
    created = datetime.now(UTC) - timedelta(days=10)
    schedule = {
        "startTime": (created + timedelta(hours=2)).isoformat(),
        "endTime": (created + timedelta(days=20)).isoformat(),
    }
    body = experiment_body(
        campaign=campaign_body(
            name="Headline test campaign",
            lifetimeBudget="3000",
            startTime=(created + timedelta(hours=1)).isoformat(),
            endTime=(created + timedelta(days=30)).isoformat(),
        ),
    )
    body["adSet"].update(schedule)
    async with created_on(sandbox, created.date()):
        experiment = await create(live_service, account, body)
    ad_sets = [v["adSetId"] for v in experiment["variants"]]
    await set_history(
        live_service, experiment["id"], [("A", "ACTIVE", started), ("B", "ACTIVE", started)]
    )
    # The history above has both variants running; on the sandbox the treatment is PAUSED, and
    # paused campaigns report no delivery, so it is activated there too.
    token = await mint_token(sandbox)
    async with httpx.AsyncClient(
        base_url=str(sandbox.base_url), headers=rest_headers(token)
    ) as api:
        activated = await api.post(
            f"/rest/adAccounts/{account}/adCampaigns/{ad_sets[1]}",
            json={"patch": {"$set": {"status": "ACTIVE"}}},
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
        )
    assert activated.status_code == 204, activated.text

    response = await live_service.api.get(
        f"/v1/ad-accounts/{account}/experiments/{experiment['id']}/results"
    )
    assert response.status_code == 200, response.text
    results = response.json()
    assert results["analyticsPulledAt"] is not None
    sums = await sandbox_sums(sandbox, ad_sets, started.date(), today())
    for variant, ad_set in zip(results["variants"], ad_sets, strict=True):
        total = sums[f"urn:li:sponsoredCampaign:{ad_set}"]
        assert variant["impressions"] == total["impressions"] > 0
        assert variant["clicks"] == total["clicks"]
        assert variant["conversions"] == total["conversions"]
        assert Decimal(variant["spendUsd"]) == total["spend"].quantize(Decimal("0.01"))
    control, treatment = results["variants"]
    check_metric(
        results["comparisons"][0]["ctr"],
        expected(
            control["clicks"], control["impressions"], treatment["clicks"], treatment["impressions"]
        ),
    )
