"""Pulling `/adAnalytics` within LinkedIn's limits: 20 fields and 15,000 rows per call.

Every call names its fields. Metrics beyond 18 (20 minus `dateRange` and `pivotValues`) go to
further calls over the same slices, merged by (account, entity, day). Accounts that share a
token are packed into one `q=statistics` call (pivots ACCOUNT plus the level's pivot) as long as
an upper bound of their rows stays under the cap. LinkedIn truncates at 15,000 rows without
saying so and has no paging, so a response of 15,000 rows is treated as truncated: its slice is
split (by accounts, then by dates) and pulled again until every part is under the cap.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.core.errors import UpstreamError
from app.linkedin.client import LinkedInClient

logger = logging.getLogger(__name__)

ACCOUNT_URN = "urn:li:sponsoredAccount:{}"
# Dashboard level -> LinkedIn pivot.
LEVEL_PIVOTS = {"campaign": "CAMPAIGN_GROUP", "ad_set": "CAMPAIGN", "ad": "CREATIVE"}
# The metrics every pull requests; they fill the stored columns.
CORE_METRICS = (
    "externalWebsiteConversions",
    "impressions",
    "clicks",
    "costInUsd",
    "costInLocalCurrency",
)
STRUCTURAL_FIELDS = ("dateRange", "pivotValues")
MAX_FIELDS = 20
METRICS_PER_CALL = MAX_FIELDS - len(STRUCTURAL_FIELDS)
# LinkedIn returns at most this many rows and drops the rest silently.
ROW_CAP = 15_000
# Packing keeps the upper bound of a call's rows below the cap, so a full call is never trusted.
PACK_LIMIT = ROW_CAP - 1
# After a truncated call the row count is only an estimate, so parts aim lower.
SPLIT_TARGET = int(ROW_CAP * 0.85)
# NOTE: LinkedIn documents no maximum number of facet values; 200 URNs keep a tunnelled body
# small. Longer query strings are tunnelled by the client.
MAX_ACCOUNTS_PER_CALL = 200
CONCURRENT_CALLS = 4

TokenRunner = Callable[[Callable[[str], Awaitable[Any]]], Awaitable[Any]]


class AnalyticsTooLargeError(UpstreamError):
    """One account has more than 15,000 rows on a single day at one level."""

    code = "analytics_too_large"


@dataclass(frozen=True)
class Slice:
    """One call's scope: accounts and an inclusive date range."""

    accounts: tuple[int, ...]
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class PullResult:
    # (account id, entity URN, first day of the bucket) -> metrics by LinkedIn name.
    rows: dict[tuple[int, str, date], dict[str, Any]] = field(default_factory=dict)
    calls: int = 0
    truncated_calls: int = 0


def metric_chunks(metrics: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(metrics))
    return [unique[i : i + METRICS_PER_CALL] for i in range(0, len(unique), METRICS_PER_CALL)]


def plan_slices(
    accounts: Sequence[int], start: date, end: date, rows_per_day: Mapping[int, int] | None
) -> list[Slice]:
    """Pack accounts into calls whose row bound (`rows_per_day` x days) stays under the cap.

    Without a bound every account goes into one call (up to `MAX_ACCOUNTS_PER_CALL`) and
    truncation decides the split.
    """
    days = (end - start).days + 1
    if rows_per_day is None:
        return [
            Slice(tuple(accounts[i : i + MAX_ACCOUNTS_PER_CALL]), start, end)
            for i in range(0, len(accounts), MAX_ACCOUNTS_PER_CALL)
        ]
    slices: list[Slice] = []
    current: list[int] = []
    bound = 0
    for account in accounts:
        rows = rows_per_day.get(account, 0) * days
        if rows > PACK_LIMIT:
            windows = math.ceil(rows / PACK_LIMIT)
            slices.extend(
                Slice((account,), first, last) for first, last in split_dates(start, end, windows)
            )
            continue
        if current and (bound + rows > PACK_LIMIT or len(current) >= MAX_ACCOUNTS_PER_CALL):
            slices.append(Slice(tuple(current), start, end))
            current, bound = [], 0
        current.append(account)
        bound += rows
    if current:
        slices.append(Slice(tuple(current), start, end))
    return slices


def split_dates(start: date, end: date, parts: int) -> list[tuple[date, date]]:
    days = (end - start).days + 1
    parts = max(1, min(parts, days))
    windows = []
    first = start
    for index in range(parts):
        length = days // parts + (1 if index < days % parts else 0)
        last = first + timedelta(days=length - 1)
        windows.append((first, last))
        first = last + timedelta(days=1)
    return windows


def split_truncated(piece: Slice, elements: Sequence[dict[str, Any]]) -> list[Slice]:
    """Split a slice whose response hit the cap into parts expected to fit."""
    seen_days = {_element_day(element) for element in elements} - {None}
    if 1 < len(seen_days) < piece.days:
        # Rows came back in date order: the last day seen is partial, the earlier ones whole.
        estimate = ROW_CAP * piece.days / (len(seen_days) - 1)
    else:
        estimate = 2 * ROW_CAP
    parts = max(2, math.ceil(estimate / SPLIT_TARGET))
    if len(piece.accounts) > 1:
        count = min(parts, len(piece.accounts))
        size = math.ceil(len(piece.accounts) / count)
        return [
            Slice(piece.accounts[i : i + size], piece.start, piece.end)
            for i in range(0, len(piece.accounts), size)
        ]
    if piece.days > 1:
        return [
            Slice(piece.accounts, first, last)
            for first, last in split_dates(piece.start, piece.end, parts)
        ]
    raise AnalyticsTooLargeError(
        f"ad account {piece.accounts[0]} has more than {ROW_CAP} analytics rows on "
        f"{piece.start}; LinkedIn returns no more in one call",
        operation="get_analytics",
    )


def _element_day(element: Mapping[str, Any]) -> date | None:
    start = (element.get("dateRange") or {}).get("start")
    if not isinstance(start, Mapping):
        return None
    return date(int(start["year"]), int(start["month"]), int(start["day"]))


def parse_metric(value: Any) -> Any:
    """Return a metric as int, or Decimal for LinkedIn's money strings."""
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def build_params(
    piece: Slice, level: str, granularity: str, metrics: Sequence[str]
) -> dict[str, Any]:
    """Build the finder parameters: `q=analytics` for one account, else `q=statistics`."""
    pivot = LEVEL_PIVOTS[level]
    params: dict[str, Any] = {}
    if len(piece.accounts) == 1:
        params.update(q="analytics", pivot=pivot)
    else:
        params.update(q="statistics", pivots=["ACCOUNT", pivot])
    params.update(
        timeGranularity=granularity,
        dateRange={"start": piece.start, "end": piece.end},
        accounts=[ACCOUNT_URN.format(account) for account in piece.accounts],
        fields=[*STRUCTURAL_FIELDS, *metrics],
    )
    return params


class AnalyticsPuller:
    """Pulls one level for accounts that share a token, within LinkedIn's limits."""

    def __init__(self, client: LinkedInClient) -> None:
        self.client = client

    async def pull(
        self,
        run_with_token: TokenRunner,
        *,
        level: str,
        accounts: Sequence[int],
        start: date,
        end: date,
        metrics: Sequence[str] = CORE_METRICS,
        rows_per_day: Mapping[int, int] | None = None,
        granularity: str = "DAILY",
    ) -> PullResult:
        result = PullResult()
        slices = plan_slices(list(accounts), start, end, rows_per_day)
        for chunk in metric_chunks(metrics):
            # Each chunk starts from the slices the previous one settled on.
            slices = await self._pull_chunk(
                run_with_token, level, granularity, chunk, slices, result
            )
        return result

    async def _pull_chunk(
        self,
        run_with_token: TokenRunner,
        level: str,
        granularity: str,
        metrics: list[str],
        slices: list[Slice],
        result: PullResult,
    ) -> list[Slice]:
        settled: list[Slice] = []
        pending = list(slices)
        gate = asyncio.Semaphore(CONCURRENT_CALLS)

        async def fetch(piece: Slice) -> tuple[Slice, list[dict[str, Any]]]:
            params = build_params(piece, level, granularity, metrics)

            async def call(token: str) -> list[dict[str, Any]]:
                response = await self.client.send(
                    "get_analytics",
                    "GET",
                    "/adAnalytics",
                    token=token,
                    scope=str(piece.accounts[0]),
                    params=params,
                    restli_method="FINDER",
                )
                body = response.body if isinstance(response.body, dict) else {}
                return list(body.get("elements") or [])

            async with gate:
                return piece, await run_with_token(call)

        while pending:
            answers = await asyncio.gather(*(fetch(piece) for piece in pending))
            pending = []
            for piece, elements in answers:
                result.calls += 1
                if len(elements) >= ROW_CAP:
                    result.truncated_calls += 1
                    parts = split_truncated(piece, elements)
                    logger.info(
                        "analytics.truncated_split",
                        extra={
                            "level": level,
                            "accounts": len(piece.accounts),
                            "start": str(piece.start),
                            "end": str(piece.end),
                            "parts": len(parts),
                        },
                    )
                    pending.extend(parts)
                    continue
                settled.append(piece)
                self._merge(result, piece, elements)
        return settled

    @staticmethod
    def _merge(result: PullResult, piece: Slice, elements: Sequence[dict[str, Any]]) -> None:
        single = len(piece.accounts) == 1
        for element in elements:
            day = _element_day(element)
            pivots = element.get("pivotValues") or []
            if day is None or not pivots:
                continue
            if single:
                account, urn = piece.accounts[0], str(pivots[-1])
            else:
                account = int(str(pivots[0]).rsplit(":", 1)[-1])
                urn = str(pivots[1])
            values = result.rows.setdefault((account, urn, day), {})
            for name, value in element.items():
                if name not in STRUCTURAL_FIELDS:
                    values[name] = parse_metric(value)
