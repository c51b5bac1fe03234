"""The Redis sliding-window rate limiter that every call to LinkedIn passes through.

One check is one EVALSHA of `scripts.ACQUIRE`. The limiter fails closed: when Redis is down,
slower than `LINKEDIN_ADS_RATE_LIMIT_TIMEOUT_SECONDS` or returns an error, the call is
rejected and nothing goes to LinkedIn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from app.core.errors import DependencyUnavailableError, QuotaExceededError
from app.core.settings import Settings
from app.ratelimit import metrics
from app.ratelimit.policy import RateLimitPolicy, Window
from app.ratelimit.scripts import ACQUIRE, PARK, USAGE, LuaScript

logger = logging.getLogger(__name__)

KEY_PREFIX = "linkedin_ads:ratelimit:"
# A hint for callers when Redis fails; it is not derived from any window.
UNAVAILABLE_RETRY_SECONDS = 1.0
UNAVAILABLE_LOG_INTERVAL_SECONDS = 10.0
MAX_CACHED_PLANS = 10_000

REASON_RATE_LIMITED = "rate_limited"
REASON_UNAVAILABLE = "limiter_unavailable"
REASON_DAILY_QUOTA = "daily_quota"


class LimiterUnavailableError(Exception):
    """Redis failed, timed out or returned a reply the limiter cannot read."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one check; times come from the Redis server's clock."""

    admitted: bool
    server_time_us: int
    window: Window | None = None
    wait_us: int | None = None
    parked_reason: str | None = None

    @property
    def retry_after_seconds(self) -> float | None:
        return None if self.wait_us is None else self.wait_us / 1_000_000


@dataclass(frozen=True)
class WindowUsage:
    """Use of one window at `server_time`: calls counted, calls left, and when room returns."""

    name: str
    limit: int
    used: int
    remaining: int
    window_seconds: float
    # Seconds until one more call fits (0 when `remaining` > 0).
    retry_after_seconds: float
    # Seconds until every counted call has left the window.
    resets_in_seconds: float
    server_time: datetime


@dataclass(frozen=True)
class QuotaStatus:
    windows: list[WindowUsage]
    parked_until: datetime | None
    parked_reason: str | None


@dataclass(frozen=True)
class _Plan:
    """Keys and fixed script arguments of one (client_id, scope)."""

    windows: tuple[Window, ...]
    keys: list[bytes]
    arguments: list[bytes]
    smallest_limit: int


def key_tag(client_id: str, scope: str) -> str:
    """Return the Redis Cluster hash tag that puts every key of one scope in one slot.

    Percent-encoding drops braces and colons from the ids, so an id cannot end the tag early.
    """
    if not client_id or not scope:
        raise ValueError("client_id and scope must be non-empty")
    return "{" + quote(client_id, safe="") + ":" + quote(scope, safe="") + "}"


def describe_scope(scope: str) -> str:
    if scope == "oauth":
        return "OAuth token calls"
    if scope == "member":
        return "member calls"
    return f"ad account {scope}"


def _from_microseconds(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC) + timedelta(
        microseconds=value % 1_000_000
    )


class RateLimiter:
    """Admits a call only when every window of its (client_id, scope) has room for it."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        # The LinkedIn app whose budget `/quota` reports; callers of `acquire` pass it too.
        self.client_id = settings.linkedin_ads_client_id
        self._policy = RateLimitPolicy(settings)
        self._timeout = settings.linkedin_ads_rate_limit_timeout_seconds
        self._plans: OrderedDict[tuple[str, str], _Plan] = OrderedDict()
        self._failures_since_log = 0
        self._last_failure_log = 0.0
        self._failing = False

    def windows_for(self, scope: str) -> tuple[Window, ...]:
        return self._policy.windows_for(scope)

    async def acquire(
        self, client_id: str, scope: str, *, operation: str | None = None, cost: int = 1
    ) -> None:
        """Record one call of `cost` units, or raise `QuotaExceededError` without recording it."""
        try:
            decision = await self.check(client_id, scope, cost=cost)
        except LimiterUnavailableError as error:
            metrics.REJECTIONS.labels(REASON_UNAVAILABLE).inc()
            raise QuotaExceededError(
                f"LinkedIn Ads {operation or 'call'}: 429 — the rate limiter cannot reach "
                f"Redis ({error}), so nothing was sent to LinkedIn; retry shortly",
                operation=operation,
                reason=REASON_UNAVAILABLE,
                retry_after_seconds=UNAVAILABLE_RETRY_SECONDS,
            ) from error
        if decision.admitted:
            return

        if decision.parked_reason is not None:
            metrics.REJECTIONS.labels(REASON_DAILY_QUOTA).inc()
            resume = "when the park is removed"
            if decision.wait_us is not None:
                resume_at = _from_microseconds(decision.server_time_us + decision.wait_us)
                resume = f"at {resume_at.isoformat(timespec='seconds')}"
            raise QuotaExceededError(
                f"LinkedIn Ads {operation or 'call'}: 429 — LinkedIn's daily quota for "
                f"{describe_scope(scope)} is used up ({decision.parked_reason}); calls resume "
                f"{resume}",
                operation=operation,
                reason=REASON_DAILY_QUOTA,
                retry_after_seconds=decision.retry_after_seconds,
            )

        window = decision.window
        assert window is not None
        metrics.REJECTIONS.labels(REASON_RATE_LIMITED).inc()
        logger.debug(
            "ratelimit.rejected",
            extra={"scope": scope, "window": window.name, "operation": operation},
        )
        limit_text = (
            f"LinkedIn Ads {operation or 'call'}: 429 — rate limit window '{window.name}' "
            f"({window.limit} calls per {window.seconds:g} s)"
        )
        if decision.wait_us is None:
            message = f"{limit_text} can never admit a call of cost {cost}"
        else:
            message = (
                f"{limit_text} is full for {describe_scope(scope)}; "
                f"retry in {decision.wait_us / 1_000_000:.3f} s"
            )
        raise QuotaExceededError(
            message,
            operation=operation,
            reason=REASON_RATE_LIMITED,
            retry_after_seconds=decision.retry_after_seconds,
        )

    async def check(self, client_id: str, scope: str, *, cost: int = 1) -> Decision:
        """Run one check; raise `LimiterUnavailableError` when Redis cannot decide."""
        if cost < 1:
            raise ValueError(f"cost must be at least 1, got {cost}")
        plan = self._plan(client_id, scope)
        if cost > plan.smallest_limit:
            metrics.REJECTED.observe(0)
            # Such a call can never fit, so no retry time is given.
            window = min(plan.windows, key=lambda item: item.limit)
            return Decision(admitted=False, server_time_us=0, window=window, wait_us=None)

        started = time.perf_counter()
        try:
            reply = await self._run(ACQUIRE, plan.keys, [_encoded_cost(cost), *plan.arguments])
        except LimiterUnavailableError:
            metrics.ERROR.observe(time.perf_counter() - started)
            raise
        if isinstance(reply, int):
            metrics.ADMITTED.observe(time.perf_counter() - started)
            return Decision(admitted=True, server_time_us=reply)
        try:
            status, index, wait_us, server_time_us = (int(item) for item in reply[:4])
            parked_reason = _text(reply[4])
        except (ValueError, TypeError, IndexError) as error:
            metrics.ERROR.observe(time.perf_counter() - started)
            self._note_failure(f"unreadable reply {reply!r}")
            raise LimiterUnavailableError("unreadable reply from the limiter script") from error
        metrics.REJECTED.observe(time.perf_counter() - started)

        if status == 2:
            # A park key without a TTL (PTTL -1) was not written by `park`; it still rejects.
            return Decision(
                admitted=False,
                server_time_us=server_time_us,
                wait_us=wait_us if wait_us > 0 else None,
                parked_reason=parked_reason or "parked",
            )
        return Decision(
            admitted=False,
            server_time_us=server_time_us,
            window=plan.windows[index - 1],
            wait_us=wait_us,
        )

    async def park(self, client_id: str, scope: str, until: datetime, reason: str) -> None:
        """Reject every call of this scope until `until` (timezone-aware), keeping a later park.

        When Redis cannot store the park, this logs the failure and returns, so the caller can
        still raise LinkedIn's own 429. Later checks fail closed while Redis stays down.
        """
        if until.tzinfo is None:
            raise ValueError("until must be timezone-aware")
        plan = self._plan(client_id, scope)
        until_ms = int(until.timestamp() * 1000)
        try:
            changed = await self._run(
                PARK, [plan.keys[0]], [str(until_ms).encode(), reason[:200].encode()]
            )
        except LimiterUnavailableError as error:
            logger.warning(
                "ratelimit.park_failed",
                extra={"scope": scope, "until": until.isoformat(), "error": str(error)},
            )
            return
        if changed:
            metrics.PARKS.inc()
            logger.info(
                "ratelimit.parked",
                extra={"scope": scope, "until": until.isoformat(), "reason": reason},
            )

    async def usage(self, client_id: str, scope: str) -> list[WindowUsage]:
        return (await self.quota(client_id, scope)).windows

    async def quota(self, client_id: str, scope: str) -> QuotaStatus:
        """Read every window and the park of a scope without recording a call.

        Raises `DependencyUnavailableError` (reason "limiter_unavailable") when Redis fails or
        times out.
        """
        plan = self._plan(client_id, scope)
        try:
            reply = await self._run(USAGE, plan.keys, [b"0", *plan.arguments])
        except LimiterUnavailableError as error:
            raise DependencyUnavailableError(
                f"the rate limiter cannot reach Redis ({error}); quota use is unknown, "
                "try again shortly",
                reason=REASON_UNAVAILABLE,
                retry_after_seconds=UNAVAILABLE_RETRY_SECONDS,
            ) from error
        server_time_us = int(reply[0])
        server_time = _from_microseconds(server_time_us)
        parked_ms = int(reply[1])
        parked_until = server_time + timedelta(milliseconds=parked_ms) if parked_ms > 0 else None
        parked_reason = (_text(reply[2]) or "parked") if parked_ms != -2 else None

        windows = []
        for position, window in enumerate(plan.windows):
            used, next_wait_us, empty_wait_us = (
                int(item) for item in reply[3 + 3 * position :][:3]
            )
            windows.append(
                WindowUsage(
                    name=window.name,
                    limit=window.limit,
                    used=used,
                    remaining=max(0, window.limit - used),
                    window_seconds=window.seconds,
                    retry_after_seconds=next_wait_us / 1_000_000,
                    resets_in_seconds=empty_wait_us / 1_000_000,
                    server_time=server_time,
                )
            )
        return QuotaStatus(windows=windows, parked_until=parked_until, parked_reason=parked_reason)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    def _plan(self, client_id: str, scope: str) -> _Plan:
        cache_key = (client_id, scope)
        plan = self._plans.get(cache_key)
        if plan is not None:
            return plan
        windows = self._policy.windows_for(scope)
        base = KEY_PREFIX + key_tag(client_id, scope) + ":"
        names = ["park", "seq", *("window:" + item.name for item in windows)]
        # The sequence key must outlive every member it numbered, so it gets the longest TTL.
        longest_ms = max(item.milliseconds for item in windows)
        arguments = [longest_ms]
        for item in windows:
            arguments += [item.milliseconds, item.limit]
        # Encoded once here, so a check sends prepared bytes.
        plan = _Plan(
            windows,
            [(base + name).encode() for name in names],
            [str(value).encode() for value in arguments],
            min(item.limit for item in windows),
        )
        self._plans[cache_key] = plan
        if len(self._plans) > MAX_CACHED_PLANS:
            self._plans.popitem(last=False)
        return plan

    async def _run(self, script: LuaScript, keys: list[bytes], arguments: list[bytes]) -> Any:
        """Run a script with EVALSHA, sending the source with EVAL only when Redis lacks it."""
        try:
            async with asyncio.timeout(self._timeout):
                try:
                    reply = await self._redis.evalsha(script.sha, len(keys), *keys, *arguments)
                except NoScriptError:
                    # EVAL also caches the script, so later checks go back to EVALSHA.
                    reply = await self._redis.eval(script.source, len(keys), *keys, *arguments)
        except TimeoutError as error:
            detail = f"no reply within {self._timeout:g} s"
            self._note_failure(detail)
            raise LimiterUnavailableError(detail) from error
        except (RedisError, OSError) as error:
            detail = f"{type(error).__name__}: {error}"
            self._note_failure(detail)
            raise LimiterUnavailableError(detail) from error
        if self._failing:
            self._failing = False
            logger.info("ratelimit.redis_recovered")
        return reply

    def _note_failure(self, detail: str) -> None:
        """Log a Redis failure, at most once per interval with the count of the rest."""
        self._failing = True
        self._failures_since_log += 1
        now = time.monotonic()
        if now - self._last_failure_log < UNAVAILABLE_LOG_INTERVAL_SECONDS:
            return
        logger.warning(
            "ratelimit.redis_failed",
            extra={"error": detail, "failures": self._failures_since_log},
        )
        self._failures_since_log = 0
        self._last_failure_log = now


def _encoded_cost(cost: int) -> bytes:
    return b"1" if cost == 1 else str(cost).encode()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value) if value is not None else ""
