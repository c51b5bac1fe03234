"""Code that runs in child processes (spawned, so it must be importable)."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Event
from typing import Any

from redis.asyncio import Redis

from app.core.errors import QuotaExceededError
from app.ratelimit.limiter import RateLimiter
from tests.ratelimit.conftest import limiter_settings


def race(
    redis_url: str,
    windows: dict[str, tuple[int, float]],
    scope: str,
    tasks: int,
    attempts: int,
    ready: Any,
    start: Event,
    results: Any,
) -> None:
    """Wait for `start`, then fire `tasks` x `attempts` acquires and report the admitted count."""
    results.put(asyncio.run(_race(redis_url, windows, scope, tasks, attempts, ready, start)))


async def _race(
    redis_url: str,
    windows: dict[str, tuple[int, float]],
    scope: str,
    tasks: int,
    attempts: int,
    ready: Any,
    start: Event,
) -> tuple[int, int]:
    redis = Redis.from_url(redis_url, max_connections=tasks)
    # A generous timeout: this test is about counting, not about slow Redis.
    limiter = RateLimiter(redis, limiter_settings(windows, timeout=5))
    await redis.ping()
    ready.put(True)
    await asyncio.to_thread(start.wait)

    async def attempt_all() -> tuple[int, int]:
        admitted = rejected = 0
        for _ in range(attempts):
            try:
                await limiter.acquire("race-client", scope, operation="race")
                admitted += 1
            except QuotaExceededError as error:
                assert error.reason == "rate_limited", error.message
                rejected += 1
        return admitted, rejected

    counts = await asyncio.gather(*(attempt_all() for _ in range(tasks)))
    await redis.aclose()
    return sum(item[0] for item in counts), sum(item[1] for item in counts)
