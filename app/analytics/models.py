"""Stored analytics, the pulls that produced them, exchange rates and last-seen entity states."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Index,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class AnalyticsDaily(Base):
    """One entity's metrics for one day, as LinkedIn last reported them.

    NOTE: the table is not partitioned. When it grows past what one index serves well,
    partition it by month on `day` (the key already contains `day`, as PostgreSQL requires).
    """

    __tablename__ = "analytics_daily"
    __table_args__ = (
        Index("ix_analytics_daily_account_level_day", "workspace_id", "account_id", "level", "day"),
    )

    workspace_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # campaign | ad_set | ad (LinkedIn's campaign group, campaign, creative)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity_urn: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger)
    clicks: Mapped[int] = mapped_column(BigInteger)
    # externalWebsiteConversions
    conversions: Mapped[int] = mapped_column(BigInteger)
    # costInLocalCurrency, in `currency`
    spend_local: Mapped[Decimal] = mapped_column(Numeric)
    spend_usd: Mapped[Decimal | None] = mapped_column(Numeric)
    currency: Mapped[str] = mapped_column(String(3))
    # linkedin (costInUsd), account_currency (a USD account), fx_table or unavailable
    usd_method: Mapped[str] = mapped_column(String(20))
    # Other requested metrics by LinkedIn name: counts as numbers, money as decimal strings.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    api_version: Mapped[str] = mapped_column(String(8))
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnalyticsPull(Base):
    """A date range of one account and level pulled from LinkedIn, for freshness checks."""

    __tablename__ = "analytics_pulls"
    __table_args__ = (
        Index(
            "ix_analytics_pulls_account_level", "workspace_id", "account_id", "level", "pulled_at"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(16))
    start_day: Mapped[date] = mapped_column(Date)
    end_day: Mapped[date] = mapped_column(Date)
    # Metrics pulled besides the five stored in columns.
    extra_metrics: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FxRate(Base):
    """USD per unit of `currency` on `day`, loaded by `linkedin-ads load-fx-rates`."""

    __tablename__ = "fx_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    usd_per_unit: Mapped[Decimal] = mapped_column(Numeric)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EntityState(Base):
    """The last-seen status, serving statuses and review of a campaign, ad set or ad."""

    __tablename__ = "entity_states"

    workspace_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # campaign | ad_set | ad
    entity_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str | None] = mapped_column(String(32))
    serving_statuses: Mapped[list[str]] = mapped_column(JSONB, default=list)
    review_status: Mapped[str | None] = mapped_column(String(32))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
