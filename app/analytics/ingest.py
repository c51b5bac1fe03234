"""Turning pulled analytics into stored rows, with spend in USD and how it was obtained."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics import repository
from app.analytics.pull import CORE_METRICS
from app.analytics.repository import DailyRecords, metrics_json

# A loaded rate converts spend on its own day and up to this many days after it.
FX_RATE_MAX_AGE = timedelta(days=7)

USD_FROM_LINKEDIN = "linkedin"
USD_ACCOUNT_CURRENCY = "account_currency"
USD_FROM_FX_TABLE = "fx_table"
USD_UNAVAILABLE = "unavailable"


class RateBook:
    """Loaded exchange rates of one currency; a day uses the newest rate on or before it."""

    def __init__(self, rates: list[tuple[date, Decimal]]) -> None:
        self.days = [day for day, _ in rates]
        self.rates = [rate for _, rate in rates]

    def usd_per_unit(self, day: date) -> Decimal | None:
        index = bisect.bisect_right(self.days, day) - 1
        if index < 0 or day - self.days[index] > FX_RATE_MAX_AGE:
            return None
        return self.rates[index]


def usd_spend(
    metrics: Mapping[str, Any], currency: str, day: date, book: RateBook | None
) -> tuple[Decimal | None, str]:
    """Return spend in USD and the method: LinkedIn's costInUsd first, then the rate table."""
    reported = metrics.get("costInUsd")
    if reported is not None:
        return Decimal(reported), USD_FROM_LINKEDIN
    local = Decimal(metrics.get("costInLocalCurrency", 0))
    if currency == "USD":
        return local, USD_ACCOUNT_CURRENCY
    rate = book.usd_per_unit(day) if book is not None else None
    if rate is None:
        return None, USD_UNAVAILABLE
    return local * rate, USD_FROM_FX_TABLE


def build_records(
    rows: Mapping[tuple[int, str, date], dict[str, Any]],
    *,
    workspaces: Mapping[int, str],
    currencies: Mapping[int, str],
    level: str,
    api_version: str,
    pulled_at: datetime,
    books: Mapping[str, RateBook],
) -> DailyRecords:
    """Build `analytics_daily` rows; a metric missing from a row (LinkedIn omits zeros) is 0."""
    records = DailyRecords.empty()
    for (account, urn, day), metrics in rows.items():
        currency = currencies[account]
        spend_usd, method = usd_spend(metrics, currency, day, books.get(currency))
        extras = {name: value for name, value in metrics.items() if name not in CORE_METRICS}
        records.append(
            (
                workspaces[account],
                account,
                level,
                urn,
                day,
                int(metrics.get("impressions", 0)),
                int(metrics.get("clicks", 0)),
                int(metrics.get("externalWebsiteConversions", 0)),
                Decimal(metrics.get("costInLocalCurrency", 0)),
                spend_usd,
                currency,
                method,
                metrics_json(extras),
                api_version,
                pulled_at,
            )
        )
    return records


async def load_rate_books(
    session: AsyncSession, currencies: set[str], start: date, end: date
) -> dict[str, RateBook]:
    books = {}
    for currency in sorted(currencies - {"USD"}):
        rates = await repository.fx_rates_between(session, currency, start - FX_RATE_MAX_AGE, end)
        books[currency] = RateBook(rates)
    return books


async def store_pull(
    session: AsyncSession,
    rows: Mapping[tuple[int, str, date], dict[str, Any]],
    *,
    workspaces: Mapping[int, str],
    currencies: Mapping[int, str],
    level: str,
    start: date,
    end: date,
    extra_metrics: list[str],
    api_version: str,
    pulled_at: datetime,
) -> int:
    """Upsert the rows and record the pull of [start, end] for each account; return the count."""
    books = await load_rate_books(session, set(currencies.values()), start, end)
    records = build_records(
        rows,
        workspaces=workspaces,
        currencies=currencies,
        level=level,
        api_version=api_version,
        pulled_at=pulled_at,
        books=books,
    )
    count = await repository.upsert_daily(session, records)
    await repository.add_pulls(
        session,
        [
            {
                "workspace_id": workspaces[account],
                "account_id": account,
                "level": level,
                "start_day": start,
                "end_day": end,
                "extra_metrics": sorted(extra_metrics),
                "pulled_at": pulled_at,
            }
            for account in currencies
        ],
    )
    return count
