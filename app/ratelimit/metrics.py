"""Prometheus metrics of the rate limiter. No label carries an account id, to keep them bounded.

One histogram, labelled by result, both times the checks and counts them: its `_count` series
is the number of checks per result, so an admitted check costs one metric update.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from app.core.metrics import PREFIX

CHECK_DURATION = Histogram(
    PREFIX + "ratelimit_check_duration_seconds",
    "Time one rate limiter check took, by result: admitted, rejected (a full window or a "
    "park) or error (Redis failed or timed out).",
    ["result"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
REJECTIONS = Counter(
    PREFIX + "ratelimit_rejections_total",
    "Calls the rate limiter rejected before they reached LinkedIn, by reason.",
    ["reason"],
)
PARKS = Counter(
    PREFIX + "ratelimit_parks_total",
    "Scopes parked after LinkedIn reported a used-up daily quota.",
)

ADMITTED = CHECK_DURATION.labels("admitted")
REJECTED = CHECK_DURATION.labels("rejected")
ERROR = CHECK_DURATION.labels("error")
