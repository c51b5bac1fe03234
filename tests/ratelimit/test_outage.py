"""Failing closed: a stopped, paused or failing Redis rejects every call, and recovery is automatic.

These tests run on a Valkey of their own, so stopping it touches neither the session's server
nor a system Redis given by `TEST_REDIS_URL`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.core.embedded import EmbeddedValkey
from app.core.errors import QuotaExceededError
from app.ratelimit.limiter import KEY_PREFIX, RateLimiter, key_tag
from tests.ratelimit.conftest import limiter_settings


@pytest.fixture(scope="module")
def own_valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(Path(tmp_path_factory.mktemp("outage-valkey")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_redis(own_valkey: EmbeddedValkey) -> AsyncIterator[Redis]:
    if own_valkey._server is None:  # a failed test may leave it stopped
        own_valkey.start()
    client = Redis.from_url(own_valkey.url)
    await client.flushdb()
    yield client
    await client.aclose()


async def outcome(limiter: RateLimiter) -> str:
    try:
        await limiter.acquire("c1", "100", operation="get_ad_account")
    except QuotaExceededError as error:
        assert error.reason is not None
        return error.reason
    return "admitted"


async def test_stopped_redis_rejects_then_recovers(
    own_valkey: EmbeddedValkey, own_redis: Redis
) -> None:
    limiter = RateLimiter(own_redis, limiter_settings({"minute": (1000, 60)}))
    assert [await outcome(limiter) for _ in range(3)] == ["admitted"] * 3

    own_valkey.kill()
    started = time.perf_counter()
    during = [await outcome(limiter) for _ in range(20)]
    elapsed = time.perf_counter() - started
    assert during == ["limiter_unavailable"] * 20
    assert not await limiter.ping()
    # Each rejection comes within the 0.25 s limiter timeout.
    assert elapsed < 20 * 0.3

    with pytest.raises(QuotaExceededError) as caught:
        await limiter.acquire("c1", "100", operation="create_campaign_group")
    assert caught.value.operation == "create_campaign_group"
    assert caught.value.retry_after_seconds == 1.0
    assert "nothing was sent to LinkedIn" in caught.value.message

    own_valkey.start()
    after = [await outcome(limiter) for _ in range(3)]
    assert after == ["admitted"] * 3
    assert await limiter.ping()


async def test_stop_during_concurrent_run(own_valkey: EmbeddedValkey, own_redis: Redis) -> None:
    limiter = RateLimiter(own_redis, limiter_settings({"minute": (100_000, 60)}))
    # (start, end, outcome) of every call
    log: list[tuple[float, float, str]] = []
    running = True

    async def caller() -> None:
        while running:
            started = time.monotonic()
            result = await outcome(limiter)
            log.append((started, time.monotonic(), result))
            await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(caller()) for _ in range(10)]
    await asyncio.sleep(0.3)
    kill_started = time.monotonic()
    await asyncio.to_thread(own_valkey.kill)
    kill_done = time.monotonic()
    await asyncio.sleep(0.5)
    restart_started = time.monotonic()
    await asyncio.to_thread(own_valkey.start)
    restart_done = time.monotonic()
    await asyncio.sleep(0.5)
    running = False
    await asyncio.gather(*tasks)

    before = [result for _, end, result in log if end < kill_started]
    during = [result for start, end, result in log if start >= kill_done and end < restart_started]
    after = [result for start, _, result in log if start > restart_done]
    assert before
    assert set(before) == {"admitted"}
    assert during, "calls must have been made while Redis was down"
    assert set(during) == {"limiter_unavailable"}
    assert after
    assert set(after) == {"admitted"}


async def test_paused_redis_times_out(own_valkey: EmbeddedValkey, own_redis: Redis) -> None:
    limiter = RateLimiter(own_redis, limiter_settings({"minute": (1000, 60)}, timeout=0.2))
    assert await outcome(limiter) == "admitted"
    admin = Redis.from_url(own_valkey.url)
    await admin.client_pause(1500, all=True)
    try:
        started = time.perf_counter()
        result = await outcome(limiter)
        elapsed = time.perf_counter() - started
        assert not await limiter.ping()
    finally:
        await admin.client_unpause()
        await admin.aclose()

    assert result == "limiter_unavailable"
    assert 0.19 < elapsed < 0.5
    assert await outcome(limiter) == "admitted"


async def test_error_reply_rejects(own_redis: Redis) -> None:
    limiter = RateLimiter(own_redis, limiter_settings({"minute": (1000, 60)}))
    assert await outcome(limiter) == "admitted"
    # A string where the window's sorted set should be makes the script fail with WRONGTYPE.
    key = f"{KEY_PREFIX}{key_tag('c1', '100')}:window:minute"
    await own_redis.set(key, "not a sorted set")

    assert await outcome(limiter) == "limiter_unavailable"

    await own_redis.delete(key)
    assert await outcome(limiter) == "admitted"


async def test_failed_park_does_not_raise(own_valkey: EmbeddedValkey, own_redis: Redis) -> None:
    limiter = RateLimiter(own_redis, limiter_settings({"minute": (1000, 60)}))
    own_valkey.kill()
    await limiter.park("c1", "100", datetime.now(UTC) + timedelta(hours=1), "daily")
    assert await outcome(limiter) == "limiter_unavailable"
    own_valkey.start()
