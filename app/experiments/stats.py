"""Two-proportion comparisons with the standard library only (`statistics.NormalDist`).

The test is the two-sided z-test with the pooled standard error. The interval on the
difference is Newcombe's hybrid score interval (his method 10), built from the two Wilson
score intervals. Unlike the Wald interval it stays inside [-1, 1], and it keeps its coverage
for rates near 0, such as a CTR of half a percent.

Reference: R. G. Newcombe, "Interval estimation for the difference between independent
proportions: comparison of eleven methods", Statistics in Medicine 17 (1998) 873-890.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class ProportionTest:
    control_rate: float
    treatment_rate: float
    # treatment - control
    difference: float
    relative_lift: float | None
    ci_low: float
    ci_high: float
    # None when the pooled rate is 0 or 1, so the standard error is 0.
    z: float | None
    p_value: float


def critical_z(confidence: float) -> float:
    """Return the two-sided critical value, e.g. 1.959964 for 0.95."""
    return STANDARD_NORMAL.inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Return the Wilson score interval of `successes / trials`."""
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_proportions(
    control_successes: int,
    control_trials: int,
    treatment_successes: int,
    treatment_trials: int,
    confidence: float,
) -> ProportionTest | None:
    """Compare treatment with control; None when either side has no trials."""
    if control_trials <= 0 or treatment_trials <= 0:
        return None
    p1 = control_successes / control_trials
    p2 = treatment_successes / treatment_trials
    difference = p2 - p1

    pooled = (control_successes + treatment_successes) / (control_trials + treatment_trials)
    variance = pooled * (1 - pooled) * (1 / control_trials + 1 / treatment_trials)
    z: float | None = None
    # With variance 0 both sides are all successes or all failures: no evidence of a difference.
    p_value = 1.0
    if variance > 0:
        statistic = difference / math.sqrt(variance)
        z, p_value = statistic, 2 * (1 - STANDARD_NORMAL.cdf(abs(statistic)))

    critical = critical_z(confidence)
    low1, high1 = wilson_interval(control_successes, control_trials, critical)
    low2, high2 = wilson_interval(treatment_successes, treatment_trials, critical)
    ci_low = difference - math.sqrt((p2 - low2) ** 2 + (high1 - p1) ** 2)
    ci_high = difference + math.sqrt((high2 - p2) ** 2 + (p1 - low1) ** 2)

    return ProportionTest(
        control_rate=p1,
        treatment_rate=p2,
        difference=difference,
        relative_lift=difference / p1 if p1 > 0 else None,
        ci_low=ci_low,
        ci_high=ci_high,
        z=z,
        p_value=p_value,
    )
