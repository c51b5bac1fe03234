"""On-demand analytics: served from PostgreSQL while fresh, else pulled from LinkedIn first."""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics import repository
from app.analytics.ingest import store_pull
from app.analytics.models import AnalyticsDaily
from app.analytics.pull import CORE_METRICS, AnalyticsPuller
from app.analytics.schemas import AnalyticsReport, AnalyticsRow, Granularity, Level
from app.connections.tokens import AccountAccess, TokenService, call_with_token
from app.core.errors import InvalidInputError, NotFoundError, UpstreamPermissionError
from app.core.settings import Settings
from app.linkedin.client import LinkedInClient

logger = logging.getLogger(__name__)

# Dashboard words accepted in `fields`, and the LinkedIn metric each one reads.
FIELD_ALIASES = {
    "spend": "costInLocalCurrency",
    "spendUsd": "costInUsd",
    "conversions": "externalWebsiteConversions",
    "impressions": "impressions",
    "clicks": "clicks",
}
# LinkedIn metrics that may be requested by name (adAnalytics `fields`, non-demographic).
LINKEDIN_METRICS = frozenset(
    {
        *CORE_METRICS,
        "landingPageClicks",
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
        "conversionValueInLocalCurrency",
    }
)
# LinkedIn keeps performance data for 10 years; one request covers at most 3 of them.
MAX_RANGE_DAYS = 3 * 366


def resolve_fields(fields: str | None) -> tuple[list[str], list[str]]:
    """Return (requested names as given, extra LinkedIn metrics beyond the core five)."""
    if not fields:
        return list(FIELD_ALIASES), []
    names = [name.strip() for name in fields.split(",") if name.strip()]
    unknown = [name for name in names if name not in FIELD_ALIASES and name not in LINKEDIN_METRICS]
    if unknown:
        raise InvalidInputError(
            f"unknown analytics fields: {', '.join(unknown)}; use spend, spendUsd, impressions, "
            "clicks, conversions or LinkedIn metric names such as landingPageClicks",
            operation="get_analytics",
        )
    extras = sorted({FIELD_ALIASES.get(name, name) for name in names} - set(CORE_METRICS))
    return list(dict.fromkeys(names)), extras


def check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidInputError(f"end {end} is before start {start}", operation="get_analytics")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInputError(
            f"the range {start}..{end} is longer than {MAX_RANGE_DAYS} days; split it",
            operation="get_analytics",
        )


@dataclass
class _Bucket:
    start: date
    end: date
    urn: str
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: Decimal = Decimal(0)
    spend_usd: Decimal | None = Decimal(0)
    methods: set[str] = field(default_factory=set)
    metrics: dict[str, Any] = field(default_factory=dict)

    def add(self, row: AnalyticsDaily) -> None:
        self.impressions += row.impressions
        self.clicks += row.clicks
        self.conversions += row.conversions
        self.spend += row.spend_local
        if self.spend_usd is not None:
            self.spend_usd = None if row.spend_usd is None else self.spend_usd + row.spend_usd
        self.methods.add(row.usd_method)
        for name, value in (row.metrics or {}).items():
            amount = Decimal(value) if isinstance(value, str) else value
            self.metrics[name] = self.metrics.get(name, 0) + amount

    def to_dto(self, extras: Sequence[str]) -> AnalyticsRow:
        metrics = {}
        for name in extras:
            value = self.metrics.get(name, 0)
            metrics[name] = format(value, "f") if isinstance(value, Decimal) else value
        return AnalyticsRow(
            entity_id=self.urn.rsplit(":", 1)[-1],
            entity_urn=self.urn,
            start=self.start,
            end=self.end,
            impressions=self.impressions,
            clicks=self.clicks,
            conversions=self.conversions,
            spend=format(self.spend, "f"),
            spend_usd=None if self.spend_usd is None else format(self.spend_usd, "f"),
            usd_method=self.methods.pop() if len(self.methods) == 1 else "mixed",
            metrics=metrics,
        )


def bucket_of(day: date, granularity: str, start: date, end: date) -> tuple[date, date]:
    if granularity == "DAILY":
        return day, day
    if granularity == "MONTHLY":
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return max(start, day.replace(day=1)), min(end, last)
    return start, end


def aggregate(
    rows: Sequence[AnalyticsDaily], granularity: str, start: date, end: date, extras: Sequence[str]
) -> list[AnalyticsRow]:
    buckets: dict[tuple[date, str], _Bucket] = {}
    for row in rows:
        first, last = bucket_of(row.day, granularity, start, end)
        key = (first, row.entity_urn)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket(first, last, row.entity_urn)
        bucket.add(row)
    return [buckets[key].to_dto(extras) for key in sorted(buckets)]


class AnalyticsService:
    def __init__(
        self, *, settings: Settings, linkedin: LinkedInClient, tokens: TokenService
    ) -> None:
        self.settings = settings
        self.linkedin = linkedin
        self.tokens = tokens
        self.puller = AnalyticsPuller(linkedin)

    def is_fresh(self, pulled_at: datetime | None, end: date, now: datetime) -> bool:
        """Check a covering pull: recent enough, or made after the range stopped changing."""
        if pulled_at is None:
            return False
        max_age = timedelta(seconds=self.settings.linkedin_ads_analytics_max_age_seconds)
        if now - pulled_at <= max_age:
            return True
        settled_after = end + timedelta(days=self.settings.linkedin_ads_sync_window_days + 1)
        return pulled_at.date() >= settled_after

    async def report(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        *,
        level: Level,
        start: date,
        end: date,
        granularity: Granularity,
        fields: str | None,
    ) -> AnalyticsReport:
        check_range(start, end)
        names, extras = resolve_fields(fields)
        access = await self.tokens.access_for_account(session, workspace_id, account_id)
        now = datetime.now(UTC)
        pulled_at = await repository.last_covering_pull(
            session, workspace_id, account_id, level, start, end, extras
        )
        source = "store"
        if not self.is_fresh(pulled_at, end, now):
            count = await self.pull_into_store(session, access, level, start, end, extras, now)
            if count == 0:
                await self.check_readable(access)
            source, pulled_at = "linkedin", now
        stored = await repository.read_daily(session, workspace_id, account_id, level, start, end)
        return AnalyticsReport(
            account_id=str(account_id),
            level=level,
            granularity=granularity,
            start=start,
            end=end,
            currency=access.currency,
            fields=names,
            source=source,
            pulled_at=pulled_at,
            rows=aggregate(stored, granularity, start, end, extras),
        )

    async def pull_into_store(
        self,
        session: AsyncSession,
        access: AccountAccess,
        level: str,
        start: date,
        end: date,
        extras: list[str],
        now: datetime,
    ) -> int:
        async def run_with_token(call: Any) -> Any:
            return await call_with_token(self.tokens, access, call)

        result = await self.puller.pull(
            run_with_token,
            level=level,
            accounts=[access.account_id],
            start=start,
            end=end,
            metrics=[*CORE_METRICS, *extras],
        )
        logger.info(
            "analytics.pulled",
            extra={
                "account_id": access.account_id,
                "level": level,
                "rows": len(result.rows),
                "calls": result.calls,
                "truncated_calls": result.truncated_calls,
            },
        )
        return await store_pull(
            session,
            result.rows,
            workspaces={access.account_id: access.workspace_id},
            currencies={access.account_id: access.currency},
            level=level,
            start=start,
            end=end,
            extra_metrics=extras,
            api_version=self.settings.linkedin_ads_api_version,
            pulled_at=now,
        )

    async def check_readable(self, access: AccountAccess) -> None:
        """Tell an empty report from missing access: LinkedIn returns no rows for both."""

        async def call(token: str) -> Any:
            return await self.linkedin.get(
                "get_ad_account",
                f"/adAccounts/{access.account_id}",
                token=token,
                scope=str(access.account_id),
            )

        try:
            await call_with_token(self.tokens, access, call)
        except (UpstreamPermissionError, NotFoundError) as error:
            raise UpstreamPermissionError(
                f"LinkedIn returned no analytics for ad account {access.account_id} and rejects "
                "reading the account; the connected member may have lost access to it",
                operation="get_analytics",
                upstream=error.upstream,
                reason="no_access_to_account",
            ) from error
