"""Operator commands: `sync` once, `backfill` a range, `load-fx-rates` from a CSV file."""

from __future__ import annotations

import asyncio
import csv
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from app.core.settings import load_settings

CSV_COLUMNS = ("date", "currency", "usd_per_unit")
MIN_USD_PER_UNIT = Decimal("0.000001")
MAX_USD_PER_UNIT = Decimal("10000")


def print_progress(done: int, total: int) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = width * done // total if total else width
    end = "\n" if done >= total else ""
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
        end=end,
        file=sys.stderr,
        flush=True,
    )


async def _with_app(work: Any) -> Any:
    from app.main import create_app

    settings = load_settings().model_copy(update={"linkedin_ads_scheduler_enabled": False})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        return await work(app.state)


def run_sync() -> int:
    async def work(state: Any) -> int:
        result = await state.sync.run_once(progress=print_progress)
        print(
            f"synced {result.accounts_ok} ad accounts, {result.accounts_failed} failed; "
            f"{result.rows} rows stored from {result.analytics_calls} analytics calls; "
            f"{result.events} events"
        )
        return 1 if result.accounts_failed else 0

    return int(asyncio.run(_with_app(work)))


def run_backfill(account_id: int, start: date, end: date, workspace_id: str | None) -> int:
    if end < start:
        print(f"--end {end} is before --start {start}", file=sys.stderr)
        return 2

    async def work(state: Any) -> int:
        result = await state.sync.backfill(
            account_id, start, end, workspace_id=workspace_id, progress=print_progress
        )
        print(
            f"stored {result.rows} rows for ad account {account_id} from {start} to {end} "
            f"with {result.analytics_calls} analytics calls"
        )
        return 0

    try:
        return int(asyncio.run(_with_app(work)))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 1


def read_rates(path: Path) -> list[dict[str, Any]]:
    """Read `date,currency,usd_per_unit` rows; raise ValueError naming the bad line."""
    rates: dict[tuple[str, date], dict[str, Any]] = {}
    with path.open(newline="", encoding="utf-8", errors="strict") as handle:
        reader = csv.DictReader(handle)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: missing columns {', '.join(sorted(missing))}; the header "
                f"must be {','.join(CSV_COLUMNS)}"
            )
        for line, row in enumerate(reader, start=2):
            values = [row.get(column) for column in CSV_COLUMNS]
            if any(value is None for value in values):
                raise ValueError(f"{path}:{line}: expected {len(CSV_COLUMNS)} columns")
            try:
                day = date.fromisoformat(row["date"].strip())
                currency = row["currency"].strip().upper()
                rate = Decimal(row["usd_per_unit"].strip())
            except (ValueError, InvalidOperation) as error:
                raise ValueError(f"{path}:{line}: invalid row {row}: {error}") from None
            # NaN and Infinity parse as Decimals; a real rate is finite and within a range no
            # currency has left (the strongest is worth a few USD, the weakest a millionth).
            if (
                len(currency) != 3
                or not currency.isalpha()
                or not rate.is_finite()
                or not MIN_USD_PER_UNIT <= rate <= MAX_USD_PER_UNIT
            ):
                raise ValueError(
                    f"{path}:{line}: invalid row {row}: expected a 3-letter currency code and "
                    f"a rate from {MIN_USD_PER_UNIT} to {MAX_USD_PER_UNIT} USD per unit"
                )
            if (currency, day) in rates and rates[(currency, day)]["usd_per_unit"] != rate:
                raise ValueError(f"{path}:{line}: a second, different rate for {currency} on {day}")
            rates[(currency, day)] = {"currency": currency, "day": day, "usd_per_unit": rate}
    return list(rates.values())


async def store_fx_rates(database_url: str, rates: list[dict[str, Any]]) -> int:
    from app.analytics.repository import upsert_fx_rates
    from app.core.database import create_engine, create_session_factory

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            return await upsert_fx_rates(session, rates)
    finally:
        await engine.dispose()


def load_fx_rates(path: Path) -> int:
    try:
        rates = read_rates(path)
    except UnicodeDecodeError:
        print(f"{path}: not a UTF-8 text file; expected a CSV", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(str(error), file=sys.stderr)
        return 1
    count = asyncio.run(store_fx_rates(load_settings().database_url, rates))
    print(f"loaded {count} exchange rates from {path}")
    return 0
