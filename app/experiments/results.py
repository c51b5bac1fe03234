"""Per-variant results of an experiment and each treatment's comparison with the control.

Which days count
----------------
A variant's *active days* are the UTC days on which its ad set was ACTIVE at any moment,
taken from the status changes this service made. Analytics rows of other days are left out,
so what LinkedIn reports for a day on which a variant was paused throughout does not count.

Each treatment is compared with the control on the days *both* were active when those days
alone give both sides the minimum sample (basis `overlap_days`). Variants that ran at the same
time then see the same weekdays, seasonality and auction, so a difference between them is not
a difference between calendar periods. A runner that rotates variants (one active at a time)
leaves almost no shared days, and the comparison then falls back to each variant's own active
days (basis `active_days`). That is sound for CTR and conversion rate, which are per impression
and per click and so do not grow with the number of days. It cannot tell a variant's effect from
a change over time, and the `days` text of the method states that. Volumes (impressions, spend)
are also reported per active day, because totals of variants that ran for different numbers of
days are not comparable.

The tests
---------
CTR (clicks per impression) and conversion rate (conversions per click) are compared with the
two-sided two-proportion z-test and Newcombe's hybrid score interval on the difference
(`app.experiments.stats`). With k treatments the significance level is split over them
(Bonferroni, alpha / k) and the intervals use the matching confidence, so a winner called among
several treatments keeps the stated error rate. A difference is significant when its p-value is
below that level and its interval excludes 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from app.experiments.schemas import (
    Comparison,
    MetricComparison,
    ResultsMethod,
    SideCounts,
    VariantResult,
)
from app.experiments.stats import compare_proportions

CENTS = Decimal("0.01")


@dataclass
class Totals:
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_usd: Decimal | None = Decimal(0)
    days: set[date] = field(default_factory=set)

    def add(
        self, day: date, impressions: int, clicks: int, conversions: int, spend_usd: Decimal | None
    ) -> None:
        self.impressions += impressions
        self.clicks += clicks
        self.conversions += conversions
        if self.spend_usd is not None:
            self.spend_usd = None if spend_usd is None else self.spend_usd + spend_usd
        self.days.add(day)

    def counts(self, days: int) -> SideCounts:
        return SideCounts(
            impressions=self.impressions,
            clicks=self.clicks,
            conversions=self.conversions,
            days=days,
        )


@dataclass(frozen=True)
class DailyRow:
    day: date
    impressions: int
    clicks: int
    conversions: int
    spend_usd: Decimal | None


@dataclass(frozen=True)
class SampleRule:
    min_impressions: int
    min_clicks: int

    def met(self, totals: Totals) -> bool:
        return totals.impressions >= self.min_impressions and totals.clicks >= self.min_clicks


def days_between(start: datetime, stop: datetime) -> set[date]:
    """Return the UTC days that [start, stop) touches; the start day when stop <= start."""
    first = start.astimezone(UTC).date()
    if stop <= start:
        return {first}
    last = (stop.astimezone(UTC) - timedelta(microseconds=1)).date()
    return {first + timedelta(days=offset) for offset in range((last - first).days + 1)}


def active_days(changes: Iterable[tuple[datetime, str]], until: datetime) -> set[date]:
    """Return the days a variant was ACTIVE, from its status changes in time order."""
    days: set[date] = set()
    active_since: datetime | None = None
    for changed_at, status in changes:
        if changed_at > until:
            break
        if status == "ACTIVE":
            if active_since is None:
                active_since = changed_at
        elif active_since is not None:
            days |= days_between(active_since, changed_at)
            active_since = None
    if active_since is not None:
        days |= days_between(active_since, until)
    return days


def totals_on(rows: Sequence[DailyRow], days: set[date]) -> Totals:
    totals = Totals()
    for row in rows:
        if row.day in days:
            totals.add(row.day, row.impressions, row.clicks, row.conversions, row.spend_usd)
    return totals


def money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(CENTS, ROUND_HALF_EVEN), "f")


def ratio(numerator: Decimal | None, denominator: int) -> str | None:
    if numerator is None or denominator == 0:
        return None
    return money(numerator / denominator)


def variant_result(
    *,
    key: str,
    name: str,
    control: bool,
    status: str | None,
    days: set[date],
    totals: Totals,
    sample: SampleRule,
) -> VariantResult:
    count = len(days)
    return VariantResult(
        key=key,
        name=name,
        control=control,
        status=status,
        active_days=count,
        impressions=totals.impressions,
        clicks=totals.clicks,
        conversions=totals.conversions,
        spend_usd=money(totals.spend_usd),
        ctr=totals.clicks / totals.impressions if totals.impressions else None,
        conversion_rate=totals.conversions / totals.clicks if totals.clicks else None,
        cpc=ratio(totals.spend_usd, totals.clicks),
        cpa=ratio(totals.spend_usd, totals.conversions),
        impressions_per_active_day=totals.impressions / count if count else None,
        spend_usd_per_active_day=ratio(totals.spend_usd, count),
        sample_sufficient=sample.met(totals),
    )


def metric_comparison(
    control_successes: int,
    control_trials: int,
    treatment_successes: int,
    treatment_trials: int,
    *,
    confidence: float,
    alpha: float,
    sample_sufficient: bool,
) -> MetricComparison:
    test = compare_proportions(
        control_successes, control_trials, treatment_successes, treatment_trials, confidence
    )
    if test is None:
        return MetricComparison(
            control_rate=None,
            treatment_rate=None,
            difference=None,
            relative_lift=None,
            ci_low=None,
            ci_high=None,
            z=None,
            p_value=None,
            significant=False,
        )
    excludes_zero = test.ci_low > 0 or test.ci_high < 0
    return MetricComparison(
        control_rate=test.control_rate,
        treatment_rate=test.treatment_rate,
        difference=test.difference,
        relative_lift=test.relative_lift,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        z=test.z,
        p_value=test.p_value,
        significant=sample_sufficient and test.p_value < alpha and excludes_zero,
    )


def compare(
    *,
    control_key: str,
    control_rows: Sequence[DailyRow],
    control_days: set[date],
    key: str,
    rows: Sequence[DailyRow],
    days: set[date],
    sample: SampleRule,
    confidence: float,
    alpha: float,
) -> Comparison:
    """Compare one treatment with the control on overlap days, else on each one's own days."""
    overlap = control_days & days
    control_totals = totals_on(control_rows, overlap)
    treatment_totals = totals_on(rows, overlap)
    basis: Literal["overlap_days", "active_days"] = "overlap_days"
    control_count = treatment_count = len(overlap)
    if not overlap or not (sample.met(control_totals) and sample.met(treatment_totals)):
        basis = "active_days"
        control_totals = totals_on(control_rows, control_days)
        treatment_totals = totals_on(rows, days)
        control_count, treatment_count = len(control_days), len(days)
    sufficient = sample.met(control_totals) and sample.met(treatment_totals)
    return Comparison(
        variant=key,
        control=control_key,
        basis=basis,
        control_counts=control_totals.counts(control_count),
        treatment_counts=treatment_totals.counts(treatment_count),
        sample_sufficient=sufficient,
        ctr=metric_comparison(
            control_totals.clicks,
            control_totals.impressions,
            treatment_totals.clicks,
            treatment_totals.impressions,
            confidence=confidence,
            alpha=alpha,
            sample_sufficient=sufficient,
        ),
        conversion_rate=metric_comparison(
            control_totals.conversions,
            control_totals.clicks,
            treatment_totals.conversions,
            treatment_totals.clicks,
            confidence=confidence,
            alpha=alpha,
            sample_sufficient=sufficient,
        ),
    )


Decision = Literal["winner", "insufficient_sample", "no_significant_difference"]


def decide(
    comparisons: Sequence[Comparison], control_key: str, primary_metric: str
) -> tuple[Decision, str | None]:
    """Return (decision, winner key) on the primary metric.

    No winner is called until every comparison has the minimum sample. The winner is the
    treatment with the highest rate among those significantly better than the control, or the
    control when every treatment is significantly worse.
    """
    if not comparisons or not all(item.sample_sufficient for item in comparisons):
        return "insufficient_sample", None
    metrics = [(item.variant, getattr(item, primary_metric)) for item in comparisons]
    better = [
        (metric.treatment_rate, key)
        for key, metric in metrics
        if metric.significant and (metric.difference or 0) > 0
    ]
    if better:
        return "winner", max(better)[1]
    if all(metric.significant and (metric.difference or 0) < 0 for _, metric in metrics):
        return "winner", control_key
    return "no_significant_difference", None


def method(
    *, confidence: float, comparisons: int, primary_metric: str, sample: SampleRule
) -> ResultsMethod:
    alpha = (1 - confidence) / max(1, comparisons)
    return ResultsMethod(
        test="two-sided two-proportion z-test with pooled standard error, per treatment "
        "against the control, on CTR (clicks/impressions) and conversion rate "
        "(conversions/clicks)",
        interval=f"Newcombe hybrid score interval (from Wilson intervals) on treatment minus "
        f"control, at {1 - alpha:.4g} confidence",
        confidence=confidence,
        alpha=alpha,
        comparisons=comparisons,
        primary_metric=primary_metric,
        days="UTC days on which the variant's ad set was ACTIVE at some moment; a comparison "
        "uses the days both variants were active when those alone meet the minimum "
        "sample (basis overlap_days), else each variant's own active days (basis "
        "active_days), where a change over time cannot be told from the variant's effect",
        minimum_sample={"impressions": sample.min_impressions, "clicks": sample.min_clicks},
        winner_rule="no winner until every comparison meets the minimum sample on both sides; "
        "then the treatment with the highest primary-metric rate among those "
        "significantly better than the control (p below alpha and the interval "
        "excluding 0), or the control when every treatment is significantly worse",
    )
