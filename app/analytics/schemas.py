"""Analytics and sync-status DTOs in the dashboard's words; money is a decimal string."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from app.core.schemas import Schema

Level = Literal["campaign", "ad_set", "ad"]
Granularity = Literal["DAILY", "MONTHLY", "ALL"]


class AnalyticsRow(Schema):
    entity_id: str
    entity_urn: str
    start: date
    end: date
    impressions: int
    clicks: int
    conversions: int
    # In the account currency.
    spend: str
    # None when no USD figure exists for some day of the row (no costInUsd and no rate).
    spend_usd: str | None
    # linkedin, account_currency, fx_table, unavailable; "mixed" when the days differ.
    usd_method: str
    # Other requested metrics by LinkedIn name.
    metrics: dict[str, Any]


class AnalyticsReport(Schema):
    account_id: str
    level: Level
    granularity: Granularity
    start: date
    end: date
    currency: str
    fields: list[str]
    # store: read from PostgreSQL; linkedin: pulled for this request, then stored.
    source: Literal["store", "linkedin"]
    pulled_at: datetime | None
    rows: list[AnalyticsRow]


class AccountSyncStatus(Schema):
    account_id: str
    last_synced_at: datetime | None
    next_sync_at: datetime | None
    last_sync_error: str | None
    lag_seconds: float | None


class SyncStatus(Schema):
    accounts: int
    synced: int
    failing: int
    never_synced: int
    max_lag_seconds: float | None
    interval_seconds: int
    window_days: int
    items: list[AccountSyncStatus]
