"""SQL for stored analytics, pulls, exchange rates, entity states and sync claims."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics.models import AnalyticsDaily, AnalyticsPull, EntityState, FxRate
from app.connections.models import AdAccount, Connection

DAILY_COLUMNS = (
    "workspace_id",
    "account_id",
    "level",
    "entity_urn",
    "day",
    "impressions",
    "clicks",
    "conversions",
    "spend_local",
    "spend_usd",
    "currency",
    "usd_method",
    "metrics",
    "api_version",
    "pulled_at",
)

# One statement per batch: the rows travel as one array per column and `unnest` turns them
# back into rows, so the statement and its plan do not depend on the row count.
UPSERT_DAILY = """
INSERT INTO analytics_daily (workspace_id, account_id, level, entity_urn, day, impressions,
    clicks, conversions, spend_local, spend_usd, currency, usd_method, metrics, api_version,
    pulled_at)
SELECT workspace_id, account_id, level, entity_urn, day, impressions, clicks, conversions,
    spend_local, spend_usd, currency, usd_method, metrics::jsonb, api_version, pulled_at
FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::date[], $6::int8[], $7::int8[],
            $8::int8[], $9::numeric[], $10::numeric[], $11::text[], $12::text[], $13::text[],
            $14::text[], $15::timestamptz[])
    AS t(workspace_id, account_id, level, entity_urn, day, impressions, clicks, conversions,
         spend_local, spend_usd, currency, usd_method, metrics, api_version, pulled_at)
ON CONFLICT (workspace_id, account_id, level, entity_urn, day) DO UPDATE SET
    impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions, spend_local = EXCLUDED.spend_local,
    spend_usd = EXCLUDED.spend_usd, currency = EXCLUDED.currency,
    usd_method = EXCLUDED.usd_method, api_version = EXCLUDED.api_version,
    pulled_at = EXCLUDED.pulled_at, metrics = analytics_daily.metrics || EXCLUDED.metrics
"""
UPSERT_BATCH_ROWS = 10_000


@dataclass
class DailyRecords:
    """Rows for `analytics_daily`, one list per column in `DAILY_COLUMNS` order."""

    columns: tuple[list[Any], ...]

    @classmethod
    def empty(cls) -> DailyRecords:
        return cls(tuple([] for _ in DAILY_COLUMNS))

    def __len__(self) -> int:
        return len(self.columns[0])

    def append(self, values: Sequence[Any]) -> None:
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    def batch(self, start: int, stop: int) -> list[list[Any]]:
        return [column[start:stop] for column in self.columns]


async def upsert_daily(session: AsyncSession, records: DailyRecords) -> int:
    """Insert or replace rows by (workspace, account, level, entity, day); return the count.

    Running it again with the same rows leaves the table as it was. Extra metrics are merged
    into the stored ones, so a pull of fewer fields keeps what an earlier pull added.
    """
    if not len(records):
        return 0
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for start in range(0, len(records), UPSERT_BATCH_ROWS):
        await driver.execute(UPSERT_DAILY, *records.batch(start, start + UPSERT_BATCH_ROWS))
    return len(records)


def metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(
        {
            name: (format(value, "f") if isinstance(value, Decimal) else value)
            for name, value in metrics.items()
        },
        separators=(",", ":"),
    )


async def add_pulls(session: AsyncSession, pulls: Sequence[dict[str, Any]]) -> None:
    if pulls:
        await session.execute(insert(AnalyticsPull).values(list(pulls)))


async def last_covering_pull(
    session: AsyncSession,
    workspace_id: str,
    account_id: int,
    level: str,
    start: date,
    end: date,
    extra_metrics: Sequence[str],
) -> datetime | None:
    """Return the time of the newest pull that covered [start, end] with these metrics."""
    statement = select(func.max(AnalyticsPull.pulled_at)).where(
        AnalyticsPull.workspace_id == workspace_id,
        AnalyticsPull.account_id == account_id,
        AnalyticsPull.level == level,
        AnalyticsPull.start_day <= start,
        AnalyticsPull.end_day >= end,
    )
    if extra_metrics:
        statement = statement.where(AnalyticsPull.extra_metrics.contains(list(extra_metrics)))
    return (await session.execute(statement)).scalar_one_or_none()


async def read_daily(
    session: AsyncSession,
    workspace_id: str,
    account_id: int,
    level: str,
    start: date,
    end: date,
) -> Sequence[AnalyticsDaily]:
    result = await session.execute(
        select(AnalyticsDaily)
        .where(
            AnalyticsDaily.workspace_id == workspace_id,
            AnalyticsDaily.account_id == account_id,
            AnalyticsDaily.level == level,
            AnalyticsDaily.day >= start,
            AnalyticsDaily.day <= end,
        )
        .order_by(AnalyticsDaily.day, AnalyticsDaily.entity_urn)
    )
    return result.scalars().all()


# ---- exchange rates ------------------------------------------------------------------------


async def upsert_fx_rates(session: AsyncSession, rates: Sequence[dict[str, Any]]) -> int:
    if not rates:
        return 0
    statement = insert(FxRate).values(list(rates))
    statement = statement.on_conflict_do_update(
        index_elements=["currency", "day"],
        set_={"usd_per_unit": statement.excluded.usd_per_unit, "loaded_at": func.now()},
    )
    await session.execute(statement)
    return len(rates)


async def fx_rates_between(
    session: AsyncSession, currency: str, start: date, end: date
) -> list[tuple[date, Decimal]]:
    """Return (day, USD per unit) of `currency` from `start` to `end`, oldest first."""
    result = await session.execute(
        select(FxRate.day, FxRate.usd_per_unit)
        .where(FxRate.currency == currency, FxRate.day >= start, FxRate.day <= end)
        .order_by(FxRate.day)
    )
    return [(row.day, row.usd_per_unit) for row in result]


# ---- entity states -------------------------------------------------------------------------


async def load_states(
    session: AsyncSession, workspace_id: str, account_id: int
) -> dict[tuple[str, str], EntityState]:
    result = await session.execute(
        select(EntityState).where(
            EntityState.workspace_id == workspace_id, EntityState.account_id == account_id
        )
    )
    return {(state.entity_type, state.entity_id): state for state in result.scalars()}


async def upsert_states(session: AsyncSession, states: Sequence[dict[str, Any]]) -> None:
    if not states:
        return
    statement = insert(EntityState).values(list(states))
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "account_id", "entity_type", "entity_id"],
        set_={
            name: statement.excluded[name]
            for name in ("status", "serving_statuses", "review_status", "seen_at")
        },
    )
    await session.execute(statement)


# ---- sync claims ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedAccount:
    id: uuid.UUID
    workspace_id: str
    account_id: int
    connection_id: uuid.UUID
    currency: str


CLAIM_DUE_ACCOUNTS = text(
    """
    UPDATE ad_accounts SET next_sync_at = :lease_until
    WHERE id IN (
        SELECT account.id FROM ad_accounts AS account
        JOIN connections ON connections.id = account.connection_id
        WHERE connections.status = 'active'
          AND (account.next_sync_at IS NULL OR account.next_sync_at <= :now)
        ORDER BY account.next_sync_at NULLS FIRST, account.account_id
        LIMIT :limit
        FOR UPDATE OF account SKIP LOCKED
    )
    RETURNING id, workspace_id, account_id, connection_id, currency
    """
)


async def claim_due_accounts(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedAccount]:
    """Claim up to `limit` due accounts by pushing their `next_sync_at` to `lease_until`.

    `SKIP LOCKED` lets concurrent workers pass over rows another worker is claiming, and the
    new `next_sync_at` keeps them off the due list after the commit, so each account goes to
    one worker. A worker that dies leaves the account due again when the lease ends.
    """
    result = await session.execute(
        CLAIM_DUE_ACCOUNTS, {"now": now, "lease_until": lease_until, "limit": limit}
    )
    return [
        ClaimedAccount(row.id, row.workspace_id, row.account_id, row.connection_id, row.currency)
        for row in result
    ]


async def find_connected_accounts(
    session: AsyncSession, workspace_id: str | None, account_id: int
) -> list[ClaimedAccount]:
    """Return the connected account rows with this LinkedIn id, for a backfill (no claim)."""
    statement = (
        select(AdAccount)
        .join(Connection, Connection.id == AdAccount.connection_id)
        .where(AdAccount.account_id == account_id, Connection.status == "active")
    )
    if workspace_id is not None:
        statement = statement.where(AdAccount.workspace_id == workspace_id)
    result = await session.execute(statement)
    return [
        ClaimedAccount(row.id, row.workspace_id, row.account_id, row.connection_id, row.currency)
        for row in result.scalars()
    ]


async def finish_sync(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, now: datetime, next_sync_at: datetime
) -> None:
    await session.execute(
        update(AdAccount)
        .where(AdAccount.id.in_(list(ids)))
        .values(last_synced_at=now, next_sync_at=next_sync_at, last_sync_error=None)
    )


async def fail_sync(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, error: str, retry_at: datetime
) -> None:
    await session.execute(
        update(AdAccount)
        .where(AdAccount.id.in_(list(ids)))
        .values(last_sync_error=error[:2000], next_sync_at=retry_at)
    )


async def sync_status_rows(
    session: AsyncSession, workspace_id: str | None = None
) -> Sequence[AdAccount]:
    statement = (
        select(AdAccount)
        .join(Connection, Connection.id == AdAccount.connection_id)
        .where(Connection.status == "active")
        .order_by(AdAccount.account_id)
    )
    if workspace_id is not None:
        statement = statement.where(AdAccount.workspace_id == workspace_id)
    return (await session.execute(statement)).scalars().all()
