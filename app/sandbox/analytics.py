"""`/rest/adAnalytics`: the `q=analytics` and `q=statistics` finders over invented delivery data.

The numbers are a pure function of the seed, the entity ids, the day and (for the last three
days) the hour of the sandbox clock, so two pulls at the same sandbox time return the same rows.
Delivery is invented at two leaf levels: each campaign has its own daily numbers, which add up to
its campaign group and its account, and each creative has its own, independent of its campaign's.
A leaf delivers on the days when it, its campaign and its campaign group all run: from each one's
creation day (on the sandbox clock) and `runSchedule.start`, up to its `runSchedule.end`
(exclusive) and the sandbox's today, and never before 2025-01-01. Only ACTIVE and COMPLETED
entities deliver. A campaign's or campaign group's spend stops at its `totalBudget`. About one
day in twelve an entity delivers nothing, so that row is left out.

LinkedIn's limits are kept: at most 20 `fields`, at most 15,000 rows (the rest dropped without a
word), 45 million metric values (rows x fields) per 5 minutes on the sandbox clock, and an empty
result (not a 403) for accounts the member cannot read. The admin routes under
`/_sandbox/analytics` add synthetic creatives to an account (for reports above the row cap),
lower the volume limit, leave `costInUsd` out for chosen currencies, and count the rows a request
would have without the cap.
"""

from __future__ import annotations

import calendar
import functools
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.sandbox.errors import bad_request
from app.sandbox.faults import throttle_error
from app.sandbox.protocol import RestContext, RestRouter, json_response
from app.sandbox.runtime import Sandbox, get_sandbox
from app.sandbox.state import (
    ACCOUNT_URN,
    CAMPAIGN_URN,
    CREATIVE_URN,
    GROUP_URN,
    AdEntity,
    SandboxState,
)

MAX_FIELDS = 20
MAX_ROWS = 15_000
MAX_STATISTICS_PIVOTS = 3
VOLUME_LIMIT = 45_000_000
VOLUME_WINDOW_SECONDS = 300.0
# Days before the sandbox's today whose numbers still move between pulls.
RESTATED_DAYS = 3
FIRST_DAY = date(2025, 1, 1)
GRANULARITIES = frozenset({"DAILY", "MONTHLY", "YEARLY", "ALL"})
FACETS = {
    "accounts": "sponsoredAccount",
    "campaignGroups": "sponsoredCampaignGroup",
    "campaigns": "sponsoredCampaign",
    "creatives": "sponsoredCreative",
}
# Pivots the sandbox can compute, from the coarsest to the finest.
PIVOT_LEVELS = {"ACCOUNT": 0, "CAMPAIGN_GROUP": 1, "CAMPAIGN": 2, "CREATIVE": 3}
# Ids of synthetic creatives start here, far above the creative ids the state hands out.
SYNTHETIC_CREATIVE_BASE = 9_000_000_000
# NOTE: LinkedIn keeps the delivery of a campaign that is paused or archived later. The sandbox
# judges by the current status only, so pausing an entity also removes its past days.
DELIVERING_STATUSES = frozenset({"ACTIVE", "COMPLETED"})
# USD per unit of each account currency. Other currencies are reported at 1.0.
USD_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CAD": Decimal("0.73"),
    "AUD": Decimal("0.66"),
    "CHF": Decimal("1.12"),
    "JPY": Decimal("0.0067"),
    "INR": Decimal("0.012"),
    "BRL": Decimal("0.18"),
}
MONEY_PLACES = Decimal("0.000001")

COUNT_METRICS = (
    "impressions",
    "clicks",
    "landingPageClicks",
    "externalWebsiteConversions",
    "externalWebsitePostClickConversions",
    "externalWebsitePostViewConversions",
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
    "videoFirstQuartileCompletions",
    "videoMidpointCompletions",
    "videoThirdQuartileCompletions",
    "fullScreenPlays",
    "oneClickLeads",
    "oneClickLeadFormOpens",
    "cardImpressions",
    "cardClicks",
    "sends",
    "opens",
)
MONEY_METRICS = ("costInLocalCurrency", "costInUsd", "conversionValueInLocalCurrency")
METRICS = frozenset(COUNT_METRICS + MONEY_METRICS)
STRUCTURAL_FIELDS = frozenset({"dateRange", "pivotValues"})
DEFAULT_FIELDS = ("impressions", "clicks")


class AnalyticsSettings(BaseModel):
    """Analytics settings changed through `POST /_sandbox/analytics`; a reset restores them."""

    # Number of synthetic creatives per ad account id, reported only by analytics.
    synthetic_creatives: dict[int, int] = Field(default_factory=dict)
    # Metric values (rows x fields) allowed per 5 minutes of sandbox clock.
    volume_limit: int = Field(default=VOLUME_LIMIT, ge=1)
    # Account currencies whose rows carry no costInUsd.
    omit_cost_in_usd: list[str] = Field(default_factory=list)


@dataclass
class _AnalyticsStore:
    # The state's account map when the store was made. A reset replaces that map, which
    # tells `_store` to start over.
    accounts: dict[int, AdEntity]
    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    # (sandbox-clock seconds, metric values) of each answered request in the volume window.
    usage: deque[tuple[float, int]] = field(default_factory=deque)


_STORES: dict[int, _AnalyticsStore] = {}


def _store(sandbox: Sandbox) -> _AnalyticsStore:
    store = _STORES.get(id(sandbox))
    if store is None or store.accounts is not sandbox.state.accounts:
        store = _AnalyticsStore(sandbox.state.accounts)
        _STORES[id(sandbox)] = store
    return store


# ---- the generator --------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One entity that delivers: a campaign or a creative, with the URNs above it."""

    kind: str
    id: int
    account: int
    group: int | None
    campaign: int | None
    currency: str

    def pivot_value(self, pivot: str) -> str | None:
        if pivot == "ACCOUNT":
            return f"{ACCOUNT_URN}{self.account}"
        if pivot == "CAMPAIGN_GROUP":
            return f"{GROUP_URN}{self.group}" if self.group is not None else None
        if pivot == "CAMPAIGN":
            return f"{CAMPAIGN_URN}{self.campaign}" if self.campaign is not None else None
        return f"{CREATIVE_URN}{self.id}" if self.kind == "creative" else None


@dataclass(frozen=True)
class Profile:
    """Per-entity constants that shape its daily numbers."""

    impressions: int
    ctr: float
    cpc_usd: float
    conversion_rate: float


def _profile(seed: int, leaf: Leaf) -> Profile:
    rng = random.Random(f"{seed}:{leaf.kind}:{leaf.id}")  # noqa: S311 - deterministic data
    scale = 0.35 if leaf.kind == "creative" else 1.0
    return Profile(
        impressions=int(rng.uniform(1_500, 9_000) * scale) + 40,
        ctr=rng.uniform(0.004, 0.010),
        cpc_usd=rng.uniform(2.5, 7.5),
        conversion_rate=rng.uniform(0.02, 0.12),
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


@functools.lru_cache(maxsize=500_000)
def _day_metrics(
    seed: int, leaf: Leaf, profile: Profile, day: date, restated_hour: int | None, omit_usd: bool
) -> dict[str, Any] | None:
    """Return one entity's metrics for one day, or None when it delivered nothing.

    `restated_hour` is the sandbox-clock hour for a day still being restated, else None.
    Callers must not change the returned dictionary, which is cached.
    """
    rng = random.Random(f"{seed}:{leaf.kind}:{leaf.id}:{day.toordinal()}")  # noqa: S311
    if rng.random() < 1 / 12:
        return None
    weekday_factor = 0.6 if day.weekday() >= 5 else 1.0
    volume = profile.impressions * weekday_factor * rng.uniform(0.7, 1.3)
    if restated_hour is not None:
        # Recent days are restated: each sandbox-clock hour gives them slightly other numbers.
        restate = random.Random(  # noqa: S311
            f"{seed}:{leaf.kind}:{leaf.id}:{day.toordinal()}:{restated_hour}"
        )
        volume *= restate.uniform(0.96, 1.02)
    impressions = max(1, int(volume))
    clicks = int(impressions * profile.ctr * rng.uniform(0.85, 1.15))
    conversions = int(clicks * profile.conversion_rate + rng.random())
    rate = USD_RATES.get(leaf.currency, Decimal("1"))
    cost_usd = Decimal(str(round(max(clicks, 1) * profile.cpc_usd * rng.uniform(0.9, 1.1), 4)))
    cost_local = _money(cost_usd / rate)
    engagements = clicks + int(impressions * rng.uniform(0.001, 0.004))
    video_starts = int(impressions * rng.uniform(0.05, 0.2))
    metrics: dict[str, Any] = {
        "impressions": impressions,
        "clicks": clicks,
        "landingPageClicks": int(clicks * 0.9),
        "externalWebsiteConversions": conversions,
        "externalWebsitePostClickConversions": int(conversions * 0.7),
        "externalWebsitePostViewConversions": conversions - int(conversions * 0.7),
        "likes": int(impressions * 0.002),
        "shares": int(impressions * 0.0002),
        "comments": int(impressions * 0.0003),
        "follows": int(impressions * 0.0001),
        "reactions": int(impressions * 0.0025),
        "totalEngagements": engagements,
        "otherEngagements": engagements - clicks,
        "companyPageClicks": int(clicks * 0.05),
        "actionClicks": int(clicks * 0.02),
        "adUnitClicks": int(clicks * 0.03),
        "textUrlClicks": int(clicks * 0.01),
        "videoViews": int(video_starts * 0.6),
        "videoStarts": video_starts,
        "videoCompletions": int(video_starts * 0.2),
        "videoFirstQuartileCompletions": int(video_starts * 0.7),
        "videoMidpointCompletions": int(video_starts * 0.45),
        "videoThirdQuartileCompletions": int(video_starts * 0.3),
        "fullScreenPlays": int(video_starts * 0.05),
        "oneClickLeads": int(clicks * 0.01),
        "oneClickLeadFormOpens": int(clicks * 0.04),
        "cardImpressions": 0,
        "cardClicks": 0,
        "sends": 0,
        "opens": 0,
        "costInLocalCurrency": cost_local,
        "costInUsd": _money(cost_local * rate),
        "conversionValueInLocalCurrency": _money(cost_local * Decimal("1.8")),
    }
    if omit_usd:
        del metrics["costInUsd"]
    return metrics


def _add(total: dict[str, Any], metrics: dict[str, Any], wanted: Iterable[str]) -> None:
    for name in wanted:
        if name in metrics:
            total[name] = total.get(name, 0) + metrics[name]


def _group_of(state: SandboxState, campaign: AdEntity) -> int | None:
    urn = str(campaign.fields.get("campaignGroup", ""))
    suffix = urn[len(GROUP_URN) :] if urn.startswith(GROUP_URN) else ""
    return int(suffix) if suffix.isdigit() else None


def _campaign_of(creative: AdEntity) -> int | None:
    urn = str(creative.fields.get("campaign", ""))
    suffix = urn[len(CAMPAIGN_URN) :] if urn.startswith(CAMPAIGN_URN) else ""
    return int(suffix) if suffix.isdigit() else None


@dataclass(frozen=True)
class Delivery:
    """When a leaf delivers: `first` to `last` (inclusive), and the budgets its spend counts in."""

    leaf: Leaf
    first: date
    last: date | None
    # (entity kind, id, totalBudget amount) of the campaign and group, where they have one.
    budgets: tuple[tuple[str, int, Decimal], ...]


def _day_of(epoch_ms: Any) -> date:
    return datetime.fromtimestamp(int(epoch_ms) / 1000, UTC).date()


def _delivery(leaf: Leaf, chain: list[AdEntity | None]) -> Delivery | None:
    """Intersect the run days of `chain` (the leaf's entity and its parents); None when empty.

    A missing parent does not limit the days; a parent that does not run stops the leaf.
    """
    first = FIRST_DAY
    last: date | None = None
    budgets = []
    for entity in chain:
        if entity is None:
            continue
        if entity.status not in DELIVERING_STATUSES:
            return None
        first = max(first, _day_of(entity.created_at))
        schedule = entity.fields.get("runSchedule") or {}
        if schedule.get("start") is not None:
            first = max(first, _day_of(schedule["start"]))
        if schedule.get("end") is not None:
            # The end is exclusive: a campaign ending at midnight does not run that day.
            end_day = _day_of(int(schedule["end"]) - 1)
            last = end_day if last is None else min(last, end_day)
        amount = _budget_amount((entity.fields.get("totalBudget") or {}).get("amount"))
        if amount is not None and entity.kind in ("campaign", "campaignGroup"):
            budgets.append((entity.kind, entity.id, amount))
    if last is not None and last < first:
        return None
    return Delivery(leaf, first, last, tuple(budgets))


def _budget_amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


def _leaves(
    state: SandboxState, settings: AnalyticsSettings, accounts: set[int], creatives: bool
) -> list[Delivery]:
    """List the delivering campaigns, or creatives (stored and synthetic), of `accounts`."""
    deliveries: list[Delivery | None] = []
    currency = {
        account_id: str(state.accounts[account_id].fields["currency"]) for account_id in accounts
    }
    if not creatives:
        for campaign in sorted(state.campaigns.values(), key=lambda entity: entity.id):
            if campaign.account_id not in accounts:
                continue
            group = _group_of(state, campaign)
            leaf = Leaf(
                "campaign",
                campaign.id,
                campaign.account_id,
                group,
                campaign.id,
                currency[campaign.account_id],
            )
            chain = [campaign, state.groups.get(group) if group is not None else None]
            deliveries.append(_delivery(leaf, chain))
        return [delivery for delivery in deliveries if delivery is not None]
    for creative in sorted(state.creatives.values(), key=lambda entity: entity.id):
        if creative.account_id not in accounts:
            continue
        campaign_id = _campaign_of(creative)
        parent = state.campaigns.get(campaign_id) if campaign_id is not None else None
        group = _group_of(state, parent) if parent is not None else None
        leaf = Leaf(
            "creative",
            creative.id,
            creative.account_id,
            group,
            campaign_id,
            currency[creative.account_id],
        )
        chain = [creative, parent, state.groups.get(group) if group is not None else None]
        deliveries.append(_delivery(leaf, chain))
    for account_id in sorted(accounts):
        count = settings.synthetic_creatives.get(account_id, 0)
        if not count:
            continue
        # Synthetic creatives hang under the account's first campaign, when it has one, and
        # run when it runs.
        campaigns = sorted(c.id for c in state.campaigns.values() if c.account_id == account_id)
        campaign_id = campaigns[0] if campaigns else None
        parent = state.campaigns.get(campaign_id) if campaign_id is not None else None
        group = _group_of(state, parent) if parent is not None else None
        chain = [parent, state.groups.get(group) if group is not None else None]
        if parent is None:
            # Without a campaign the synthetic creatives run under the account alone.
            chain = [state.accounts[account_id]]
        base = SYNTHETIC_CREATIVE_BASE + (account_id % 1_000_000) * 10_000
        for index in range(count):
            leaf = Leaf(
                "creative", base + index, account_id, group, campaign_id, currency[account_id]
            )
            deliveries.append(_delivery(leaf, chain))
    return [delivery for delivery in deliveries if delivery is not None]


@dataclass
class Report:
    """A parsed analytics request."""

    pivots: list[str]
    granularity: str
    start: date
    end: date
    facets: dict[str, set[int]]
    fields: list[str]


def _bucket(day: date, report: Report) -> tuple[date, date]:
    if report.granularity == "DAILY":
        return day, day
    if report.granularity == "MONTHLY":
        last = calendar.monthrange(day.year, day.month)[1]
        return max(report.start, day.replace(day=1)), min(report.end, day.replace(day=last))
    if report.granularity == "YEARLY":
        return max(report.start, date(day.year, 1, 1)), min(report.end, date(day.year, 12, 31))
    return report.start, report.end


def _matches(leaf: Leaf, facets: dict[str, set[int]]) -> bool:
    checks = (
        ("accounts", leaf.account),
        ("campaignGroups", leaf.group),
        ("campaigns", leaf.campaign),
        ("creatives", leaf.id if leaf.kind == "creative" else None),
    )
    return all(name not in facets or value in facets[name] for name, value in checks)


def readable_accounts(state: SandboxState, member: str, report: Report) -> set[int]:
    """Return the accounts the facets reach that `member` may read; others add no rows."""
    reachable: set[int] = set()
    for account_id in report.facets.get("accounts", set()):
        reachable.add(account_id)
    for group_id in report.facets.get("campaignGroups", set()):
        if group_id in state.groups:
            reachable.add(state.groups[group_id].account_id)
    for campaign_id in report.facets.get("campaigns", set()):
        if campaign_id in state.campaigns:
            reachable.add(state.campaigns[campaign_id].account_id)
    for creative_id in report.facets.get("creatives", set()):
        if creative_id in state.creatives:
            reachable.add(state.creatives[creative_id].account_id)
        elif creative_id >= SYNTHETIC_CREATIVE_BASE:
            suffix = (creative_id - SYNTHETIC_CREATIVE_BASE) // 10_000
            reachable.update(a for a in state.accounts if a % 1_000_000 == suffix)
    return {a for a in reachable if a in state.accounts and (a, member) in state.roles}


def _scaled(metrics: dict[str, Any], share: Decimal) -> dict[str, Any]:
    """Scale a day's metrics to `share` (0 to 1) of their values, for a day a budget ran out."""
    scaled: dict[str, Any] = {}
    for name, value in metrics.items():
        if name in MONEY_METRICS:
            scaled[name] = _money(value * share)
        else:
            scaled[name] = int(value * share)
    return scaled


def _daily_metrics(
    seed: int,
    deliveries: list[Delivery],
    start: date,
    end: date,
    today: date,
    clock_hour: int,
    omitted: set[str],
    reported: set[Leaf],
) -> Iterable[tuple[Leaf, date, dict[str, Any]]]:
    """Yield (leaf, day, metrics) for every day from `start` to `end` that a reported leaf delivers.

    Days go in order, and leaves by id within a day, because spend under a budget is counted
    from the first day the budget's entity runs, even when that is before `start`.
    """
    restated_from = today - timedelta(days=RESTATED_DAYS - 1)
    budgeted = [delivery for delivery in deliveries if delivery.budgets]
    needed = [d for d in deliveries if d.budgets or d.leaf in reported]
    remaining: dict[tuple[str, int], Decimal] = {}
    for delivery in budgeted:
        for kind, entity_id, amount in delivery.budgets:
            remaining[(kind, entity_id)] = amount
    first = min((delivery.first for delivery in budgeted), default=start)
    day = min(first, start)
    profiles = {delivery.leaf: _profile(seed, delivery.leaf) for delivery in deliveries}
    while day <= end:
        restated_hour = clock_hour if day >= restated_from else None
        for delivery in needed if day >= start else budgeted:
            if day < delivery.first or (delivery.last is not None and day > delivery.last):
                continue
            leaf = delivery.leaf
            metrics = _day_metrics(
                seed, leaf, profiles[leaf], day, restated_hour, leaf.currency in omitted
            )
            if metrics is None:
                continue
            if delivery.budgets:
                cost = metrics["costInLocalCurrency"]
                left = min(remaining[(kind, entity_id)] for kind, entity_id, _ in delivery.budgets)
                if left <= 0:
                    continue
                if cost > left:
                    metrics = _scaled(metrics, left / cost)
                    cost = metrics["costInLocalCurrency"]
                for kind, entity_id, _ in delivery.budgets:
                    remaining[(kind, entity_id)] -= cost
            if day >= start and leaf in reported:
                yield leaf, day, metrics
        day += timedelta(days=1)


def generate(
    state: SandboxState, settings: AnalyticsSettings, member: str, report: Report
) -> list[dict[str, Any]]:
    """Build every non-zero row of a report, ordered by date and then by pivot values."""
    accounts = readable_accounts(state, member, report)
    if not accounts:
        return []
    today = datetime.fromtimestamp(state.now(), UTC).date()
    clock_hour = int(state.now() // 3600)
    end = min(report.end, today)
    start = max(report.start, FIRST_DAY)
    finest = max(report.pivots, key=lambda pivot: PIVOT_LEVELS[pivot])
    # Every leaf of the accounts takes part, also those the facets leave out, because they
    # share budgets with the leaves that are reported.
    deliveries = _leaves(state, settings, accounts, finest == "CREATIVE")
    omitted = {currency.upper() for currency in settings.omit_cost_in_usd}
    wanted = [name for name in report.fields if name in METRICS]

    totals: dict[tuple[date, tuple[str, ...]], dict[str, Any]] = {}
    buckets: dict[tuple[date, tuple[str, ...]], date] = {}
    pivot_values_of: dict[Leaf, tuple[str, ...]] = {}
    for delivery in deliveries:
        leaf = delivery.leaf
        values = tuple(leaf.pivot_value(pivot) or "" for pivot in report.pivots)
        if _matches(leaf, report.facets) and all(values):
            pivot_values_of[leaf] = values

    for leaf, day, metrics in _daily_metrics(
        state.config.seed,
        deliveries,
        start,
        end,
        today,
        clock_hour,
        omitted,
        set(pivot_values_of),
    ):
        pivot_values = pivot_values_of[leaf]
        bucket_start, bucket_end = _bucket(day, report)
        key = (bucket_start, pivot_values)
        _add(totals.setdefault(key, {}), metrics, wanted)
        buckets[key] = bucket_end

    rows = []
    for key in sorted(totals):
        bucket_start, pivot_values = key
        row = _render(totals[key], report.fields, pivot_values, bucket_start, buckets[key])
        if row is not None:
            rows.append(row)
    return rows


def _date_record(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _render(
    metrics: dict[str, Any],
    fields: list[str],
    pivot_values: tuple[str, ...],
    start: date,
    end: date,
) -> dict[str, Any] | None:
    """Render one element with only the requested fields; None when all its metrics are 0."""
    element: dict[str, Any] = {}
    nonzero = False
    for name in fields:
        if name == "pivotValues":
            element["pivotValues"] = list(pivot_values)
        elif name == "dateRange":
            element["dateRange"] = {"start": _date_record(start), "end": _date_record(end)}
        elif name in MONEY_METRICS:
            if name not in metrics:
                continue
            value = metrics[name]
            nonzero = nonzero or value != 0
            element[name] = format(_money(value).normalize(), "f") if value else "0"
        else:
            value = int(metrics.get(name, 0))
            nonzero = nonzero or value != 0
            element[name] = value
    return element if nonzero else None


# ---- request parsing ------------------------------------------------------------------------


def _parse_date(value: Any, what: str) -> date:
    if not isinstance(value, dict) or set(value) != {"year", "month", "day"}:
        raise bad_request(f"Invalid {what}: expected (year:YYYY,month:M,day:D)")
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (TypeError, ValueError) as error:
        raise bad_request(f"Invalid {what}: {error}") from error


def _parse_pivot(value: Any) -> str:
    """Read `pivot=CAMPAIGN` or the record form `pivot=(value:CAMPAIGN)`."""
    if isinstance(value, dict) and set(value) == {"value"}:
        value = value["value"]
    if not isinstance(value, str) or not value:
        raise bad_request("Invalid pivot: expected a pivot name such as CAMPAIGN")
    if value not in PIVOT_LEVELS:
        # NOTE: LinkedIn has many more pivots (MEMBER_*, COMPANY, ...); the sandbox has no data
        # for them and rejects them, where LinkedIn would answer.
        raise bad_request(
            f"Pivot {value} is not supported by the sandbox: use ACCOUNT, "
            "CAMPAIGN_GROUP, CAMPAIGN or CREATIVE"
        )
    return value


def parse_report(ctx: RestContext, finder: str) -> Report:
    params = ctx.params
    if finder == "analytics":
        if "pivot" not in params:
            raise bad_request("The pivot parameter is required for q=analytics")
        pivots = [_parse_pivot(params.value("pivot"))]
    else:
        values = params.value("pivots")
        if not isinstance(values, list) or not values:
            raise bad_request(
                "The pivots parameter is required for q=statistics: pivots=List(CAMPAIGN,...)"
            )
        if len(values) > MAX_STATISTICS_PIVOTS:
            raise bad_request(
                f"At most {MAX_STATISTICS_PIVOTS} pivots are allowed, got {len(values)}"
            )
        pivots = [_parse_pivot(value) for value in values]
    granularity = params.text("timeGranularity")
    if granularity is None:
        raise bad_request("The timeGranularity parameter is required: DAILY, MONTHLY or ALL")
    if granularity not in GRANULARITIES:
        raise bad_request(
            f"Invalid timeGranularity {granularity!r}: expected DAILY, MONTHLY, YEARLY or ALL"
        )
    date_range = params.value("dateRange")
    if date_range is None:
        raise bad_request(
            "The dateRange parameter is required: dateRange=(start:(year:2024,month:1,day:1))"
        )
    if not isinstance(date_range, dict) or "start" not in date_range:
        raise bad_request("Invalid dateRange: expected (start:(...),end:(...)) with a start")
    start = _parse_date(date_range["start"], "dateRange.start")
    today = datetime.fromtimestamp(ctx.state.now(), UTC).date()
    end = _parse_date(date_range["end"], "dateRange.end") if "end" in date_range else today
    if end < start:
        raise bad_request(f"Invalid dateRange: end {end} is before start {start}")
    facets: dict[str, set[int]] = {}
    for name, urn_type in FACETS.items():
        values = params.value(name)
        if values is None:
            continue
        if not isinstance(values, list) or not values:
            raise bad_request(f"Invalid {name}: expected {name}=List(urn:li:{urn_type}:...)")
        facets[name] = {_urn_id(value, urn_type, name) for value in values}
    if not facets:
        raise bad_request(
            "At least one facet is required: accounts, campaignGroups, campaigns or creatives"
        )
    fields = ctx.params.projection("fields")
    if fields is None:
        fields = list(DEFAULT_FIELDS)
    if len(fields) > MAX_FIELDS:
        raise bad_request(
            f"Too many fields requested: {len(fields)}. At most {MAX_FIELDS} "
            "fields, dateRange and pivotValues included, are allowed"
        )
    unknown = [name for name in fields if name not in METRICS and name not in STRUCTURAL_FIELDS]
    if unknown:
        raise bad_request(f"Unknown analytics fields: {', '.join(unknown)}")
    return Report(pivots, granularity, start, end, facets, fields)


def _urn_id(value: Any, urn_type: str, facet: str) -> int:
    prefix = f"urn:li:{urn_type}:"
    if (
        not isinstance(value, str)
        or not value.startswith(prefix)
        or not value[len(prefix) :].isdigit()
    ):
        raise bad_request(f"Invalid {facet} value {value!r}: expected {prefix}<id>")
    return int(value[len(prefix) :])


def _charge_volume(store: _AnalyticsStore, now: float, values: int) -> None:
    """Count `values` against the 5-minute window, or raise LinkedIn's data-volume 429."""
    usage = store.usage
    while usage and usage[0][0] <= now - VOLUME_WINDOW_SECONDS:
        usage.popleft()
    used = sum(count for _, count in usage)
    if used + values > store.settings.volume_limit:
        raise throttle_error("analytics_volume")
    usage.append((now, values))


async def get_analytics(ctx: RestContext) -> Response:
    finder = ctx.params.text("q")
    if finder is None:
        raise bad_request("The q parameter is required: q=analytics or q=statistics")
    if finder not in {"analytics", "statistics"}:
        raise bad_request(
            f"Unsupported finder q={finder!r} on adAnalytics: use q=analytics or q=statistics"
        )
    report = parse_report(ctx, finder)
    store = _store(ctx.sandbox)
    rows = generate(ctx.state, store.settings, ctx.member, report)[:MAX_ROWS]
    _charge_volume(store, ctx.state.now(), len(rows) * len(report.fields))
    return json_response({"elements": rows, "paging": {"count": 10, "start": 0, "links": []}})


def register(router: RestRouter) -> None:
    """Add `GET /rest/adAnalytics` (tunnelled POSTs arrive here as GETs)."""
    router.add("adAnalytics", "GET", get_analytics, resource="adAnalytics", scope="reporting")


# ---- admin routes ---------------------------------------------------------------------------

admin_router = APIRouter(prefix="/_sandbox/analytics", tags=["sandbox admin"])


@admin_router.get("")
async def get_settings(request: Request) -> dict[str, Any]:
    return _store(get_sandbox(request)).settings.model_dump()


@admin_router.post("")
async def update_settings(request: Request, changes: dict[str, Any]) -> dict[str, Any]:
    """Change analytics settings; the body contains only the fields to change."""
    store = _store(get_sandbox(request))
    merged = {**store.settings.model_dump(), **changes}
    try:
        store.settings = AnalyticsSettings.model_validate(merged)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    return store.settings.model_dump()


class RowCountRequest(BaseModel):
    accounts: list[int]
    pivots: list[str]
    start: date
    end: date
    granularity: str = "DAILY"
    fields: list[str] = Field(default_factory=lambda: ["impressions", "clicks"])
    member: str = "urn:li:person:sandbox-member-1"


@admin_router.post("/rows")
async def count_rows(request: Request, body: RowCountRequest) -> dict[str, Any]:
    """Return how many rows a report has before the 15,000-row cap, and their sums."""
    sandbox = get_sandbox(request)
    unknown = [pivot for pivot in body.pivots if pivot not in PIVOT_LEVELS]
    if unknown or body.granularity not in GRANULARITIES:
        raise HTTPException(422, f"Invalid pivots {unknown} or granularity {body.granularity}")
    report = Report(
        body.pivots,
        body.granularity,
        body.start,
        body.end,
        {"accounts": set(body.accounts)},
        ["dateRange", "pivotValues", *body.fields],
    )
    rows = generate(sandbox.state, _store(sandbox).settings, body.member, report)
    return {"rows": len(rows), "sums": _sums(rows, body.fields)}


def _sums(rows: Iterable[dict[str, Any]], fields: list[str]) -> dict[str, str]:
    sums: dict[str, Decimal] = {name: Decimal(0) for name in fields}
    for row in rows:
        for name in fields:
            sums[name] += Decimal(str(row.get(name, 0)))
    return {name: format(value, "f") for name, value in sums.items()}
