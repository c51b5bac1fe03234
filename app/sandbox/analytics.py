"""Place for `/rest/adAnalytics` (not built yet).

TODO: implement the `q=analytics` and `q=statistics` finders as a deterministic generator over the
stored accounts, groups, campaigns and creatives. Seed it with `SandboxConfig.seed` and the entity
ids, and give it realistic magnitudes. Money metrics are decimal strings, and rows whose metrics
are all zero are omitted. Requests take at most 20 `fields` and return at most 15,000 rows. Past
45 million metric values per 5 minutes, send the `analytics_volume` 429 of
`faults.throttle_error`. Register the handler in `register` with scope `reporting`, so the token
needs `r_ads_reporting`. Until then `/rest/adAnalytics` returns 404.
"""

from __future__ import annotations

from app.sandbox.protocol import RestRouter


def register(router: RestRouter) -> None:
    """Add the analytics routes to the `/rest` router (none exist yet)."""
    return None
