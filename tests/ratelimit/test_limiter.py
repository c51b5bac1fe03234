"""The sliding window against a real Redis: counts, edges, several windows, keys and parks."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool
from redis.crc import key_slot

from app.core.errors import QuotaExceededError
from app.ratelimit.limiter import KEY_PREFIX, RateLimiter, key_tag
from tests.ratelimit.conftest import MakeLimiter, limiter_settings
from tests.ratelimit.workers import race


def window_key(client_id: str, scope: str, name: str) -> str:
    return f"{KEY_PREFIX}{key_tag(client_id, scope)}:window:{name}"


async def server_time_us(redis: Redis) -> int:
    seconds, microseconds = await redis.time()
    return seconds * 1_000_000 + microseconds


async def test_admits_limit_then_rejects(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (5, 60)})
    for _ in range(5):
        await limiter.acquire("c1", "100")

    with pytest.raises(QuotaExceededError) as caught:
        await limiter.acquire("c1", "100", operation="create_campaign_group")

    error = caught.value
    assert error.reason == "rate_limited"
    assert error.operation == "create_campaign_group"
    assert error.status_code == 429
    assert "'minute'" in error.message
    assert "5 calls per 60 s" in error.message
    assert error.message.startswith("LinkedIn Ads create_campaign_group: 429 — ")
    assert error.retry_after_seconds is not None
    assert 59 < error.retry_after_seconds <= 60


async def test_retry_time_exact(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (3, 60)})
    first = await limiter.check("c1", "100")
    await limiter.check("c1", "100")
    await limiter.check("c1", "100")

    rejected = await limiter.check("c1", "100")

    assert first.admitted
    assert not rejected.admitted
    assert rejected.window is not None
    assert rejected.window.name == "minute"
    # The oldest call leaves the window exactly 60 s after it was admitted.
    assert rejected.wait_us == first.server_time_us + 60_000_000 - rejected.server_time_us


async def test_cost_counts_units(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (5, 60)})
    first = await limiter.check("c1", "100", cost=2)
    second = await limiter.check("c1", "100", cost=3)

    rejected = await limiter.check("c1", "100", cost=2)
    too_big = await limiter.check("c1", "100", cost=6)

    assert first.admitted
    assert second.admitted
    assert not rejected.admitted
    # Two units must leave, and both belong to the first call.
    assert rejected.wait_us == first.server_time_us + 60_000_000 - rejected.server_time_us
    assert not too_big.admitted
    assert too_big.wait_us is None
    with pytest.raises(ValueError, match="cost must be at least 1"):
        await limiter.check("c1", "100", cost=0)


async def spread_members(redis: Redis, key: str, window_us: int) -> list[int]:
    """Add members from 1 ms outside the window to 300 ms inside it.

    They are 1 µs apart for the first 4 ms, where a read usually lands, and 100 µs apart after
    that, so a slow machine still lands inside the spread.
    """
    now = await server_time_us(redis)
    start = now - window_us - 1000
    scores = [start + index for index in range(4000)]
    scores += [start + 4000 + 100 * index for index in range(1, 2970)]
    await redis.zadd(key, {f"m{index}": score for index, score in enumerate(scores)})
    return scores


async def test_window_edge_exact(redis: Redis, make_limiter: MakeLimiter) -> None:
    """A member counts while its score is above now minus the window, to the microsecond."""
    limiter = make_limiter({"minute": (5000, 60)})
    # Load both scripts first, so that the reads below run within the spread of members.
    await limiter.check("test-client", "warm-up")
    await limiter.quota("test-client", "warm-up")
    window_us = 60_000_000

    key = window_key("test-client", "100", "minute")
    scores = await spread_members(redis, key, window_us)
    usage = (await limiter.quota("test-client", "100")).windows[0]
    usage_now = (usage.server_time - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    expected = sum(1 for score in scores if score > usage_now - window_us)
    assert 0 < expected < len(scores), "the read must land inside the spread of members"
    assert usage.used == expected
    assert usage.remaining == 5000 - expected

    key = window_key("test-client", "200", "minute")
    scores = await spread_members(redis, key, window_us)
    decision = await limiter.check("test-client", "200")
    assert decision.admitted
    kept = sum(1 for score in scores if score > decision.server_time_us - window_us)
    assert 0 < kept < len(scores), "the check must land inside the spread of members"
    assert await redis.zcard(key) == kept + 1


async def test_window_slides_at_edge(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"short": (2, 0.4)})
    first = await limiter.check("c1", "100")
    await asyncio.sleep(0.1)
    second = await limiter.check("c1", "100")
    rejected = await limiter.check("c1", "100")
    assert first.admitted
    assert second.admitted
    assert not rejected.admitted
    assert rejected.wait_us is not None

    # Shortly before the first call leaves, the window is still full.
    await asyncio.sleep(max(0.0, rejected.wait_us / 1e6 - 0.05))
    early = await limiter.check("c1", "100")
    assert not early.admitted
    assert early.wait_us == first.server_time_us + 400_000 - early.server_time_us

    await asyncio.sleep(early.wait_us / 1e6 + 0.005)
    after = await limiter.check("c1", "100")
    assert after.admitted
    assert after.server_time_us >= first.server_time_us + 400_000

    # Only one slot opened: the second call is still inside the window.
    again = await limiter.check("c1", "100")
    assert not again.admitted
    assert again.wait_us == second.server_time_us + 400_000 - again.server_time_us


async def test_windows_apply_together(redis: Redis, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"short": (3, 0.3), "long": (5, 60)})
    outcomes = [(await limiter.check("c1", "100")).admitted for _ in range(4)]
    assert outcomes == [True, True, True, False]

    rejected = await limiter.check("c1", "100")
    assert rejected.window is not None
    assert rejected.window.name == "short"

    await asyncio.sleep(0.32)
    outcomes = [(await limiter.check("c1", "100")).admitted for _ in range(3)]
    assert outcomes == [True, True, False]

    blocked = await limiter.check("c1", "100")
    assert blocked.window is not None
    assert blocked.window.name == "long"
    assert blocked.wait_us is not None
    assert 59_000_000 < blocked.wait_us < 60_000_000

    # Rejected calls are recorded in no window.
    assert await redis.zcard(window_key("c1", "100", "long")) == 5
    assert await redis.zcard(window_key("c1", "100", "short")) == 2


async def test_accounts_do_not_share(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (2, 60)})
    for _ in range(2):
        await limiter.acquire("c1", "100")
    with pytest.raises(QuotaExceededError):
        await limiter.acquire("c1", "100")

    await limiter.acquire("c1", "200")
    await limiter.acquire("c2", "100")
    await limiter.acquire("c1", "oauth")

    usage = await limiter.usage("c1", "200")
    assert usage[0].used == 1
    assert usage[0].remaining == 1


async def test_account_override(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(
        {"minute": (1, 60)},
        overrides={"300": {"minute": {"limit": 3, "seconds": 60}}, "400": "development"},
    )
    for _ in range(3):
        await limiter.acquire("c1", "300")
    await limiter.acquire("c1", "100")

    with pytest.raises(QuotaExceededError):
        await limiter.acquire("c1", "300")
    with pytest.raises(QuotaExceededError):
        await limiter.acquire("c1", "100")
    usage = await limiter.usage("c1", "400")
    assert [(item.name, item.limit, item.window_seconds) for item in usage] == [("day", 100, 86400)]


def test_processes_admit_exact_count(redis_url: str) -> None:
    """Four processes with 25 tasks each race for 60 slots; exactly 60 pass."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    results = context.Queue()
    start = context.Event()
    windows = {"minute": (60, 60.0)}
    scope = f"race-{time.time_ns()}"
    processes = [
        context.Process(target=race, args=(redis_url, windows, scope, 25, 4, ready, start, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=30)
        start.set()
        counts = [results.get(timeout=30) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)

    admitted = sum(item[0] for item in counts)
    rejected = sum(item[1] for item in counts)
    assert admitted == 60
    assert rejected == 4 * 25 * 4 - 60
    assert all(process.exitcode == 0 for process in processes)


async def test_tasks_admit_exact_count(make_limiter: MakeLimiter, redis: Redis) -> None:
    # A generous timeout and a 2 s window: this test counts, and a loaded machine must not
    # turn slow checks into refusals or let the short window lapse during the first burst.
    limiter = make_limiter({"short": (30, 2.0), "long": (45, 60)}, timeout=5)

    async def attempt() -> bool:
        return (await limiter.check("c1", "100")).admitted

    # 100 tasks, the default size of redis-py's pool, which raises rather than waits when full.
    first = await asyncio.gather(*(attempt() for _ in range(100)))
    await asyncio.sleep(2.05)
    second = await asyncio.gather(*(attempt() for _ in range(100)))

    assert sum(first) == 30
    assert sum(second) == 15
    assert await redis.zcard(window_key("c1", "100", "long")) == 45


async def test_keys_share_slot_and_expire(redis: Redis, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"short": (5, 2), "long": (5, 30)})
    client_id = "client:{odd}"
    await limiter.acquire(client_id, "100")
    await limiter.park(client_id, "100", datetime.now(UTC) + timedelta(seconds=20), "test")

    stored = await redis.keys(f"{KEY_PREFIX}*")
    keys = [key.decode() if isinstance(key, bytes) else key for key in stored]
    assert len(keys) == 4
    assert len({key_slot(key.encode()) for key in keys}) == 1
    ttls = {key.rsplit(":", 1)[-1]: await redis.pttl(key) for key in keys}
    assert 1500 < ttls["short"] <= 2000
    assert 29_000 < ttls["long"] <= 30_000
    assert 29_000 < ttls["seq"] <= 30_000
    assert 19_000 < ttls["park"] <= 20_000


async def test_park_until_time(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (100, 60)})
    until = datetime.now(UTC) + timedelta(seconds=0.6)
    await limiter.park("c1", "100", until, "linkedin_daily_quota")
    # An earlier park does not shorten the one in place.
    await limiter.park("c1", "100", until - timedelta(seconds=0.4), "shorter")
    # A park in the past changes nothing.
    await limiter.park("c1", "200", datetime.now(UTC) - timedelta(seconds=1), "past")

    with pytest.raises(QuotaExceededError) as caught:
        await limiter.acquire("c1", "100", operation="get_ad_account")
    assert caught.value.reason == "daily_quota"
    assert caught.value.operation == "get_ad_account"
    assert "linkedin_daily_quota" in caught.value.message
    assert caught.value.retry_after_seconds is not None
    assert 0.4 < caught.value.retry_after_seconds <= 0.6

    status = await limiter.quota("c1", "100")
    assert status.parked_reason == "linkedin_daily_quota"
    assert status.parked_until is not None
    assert abs((status.parked_until - until).total_seconds()) < 0.05
    await limiter.acquire("c1", "200")

    await asyncio.sleep(caught.value.retry_after_seconds + 0.02)
    await limiter.acquire("c1", "100")
    assert (await limiter.quota("c1", "100")).parked_until is None


async def test_park_requires_timezone(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (1, 60)})
    with pytest.raises(ValueError, match="timezone-aware"):
        await limiter.park("c1", "100", datetime.now(), "naive")


async def test_reloads_flushed_script(redis: Redis, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (10, 60)})
    await limiter.acquire("c1", "100")
    await redis.script_flush()

    await limiter.acquire("c1", "100")
    await limiter.acquire("c1", "100")

    assert (await limiter.usage("c1", "100"))[0].used == 3


class CountingConnection(Connection):
    sent = 0

    async def send_packed_command(self, command: object, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)  # type: ignore[arg-type]


async def test_one_round_trip(redis_url: str, redis: Redis) -> None:
    pool = ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    client = Redis(connection_pool=pool)
    limiter = RateLimiter(client, limiter_settings({"short": (1000, 1), "long": (1000, 60)}))
    await limiter.acquire("c1", "100")  # connects and loads the script
    stats_before = await redis.info("commandstats")
    CountingConnection.sent = 0

    for _ in range(50):
        await limiter.acquire("c1", "100")

    stats_after = await redis.info("commandstats")
    await client.aclose()
    assert CountingConnection.sent == 50
    evalsha_calls = (
        stats_after["cmdstat_evalsha"]["calls"] - stats_before["cmdstat_evalsha"]["calls"]
    )
    assert evalsha_calls == 50


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_metrics_count_results(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"minute": (1, 60)})
    checks = "linkedin_ads_ratelimit_check_duration_seconds_count"
    admitted = sample(checks, {"result": "admitted"})
    rejected = sample(checks, {"result": "rejected"})
    rate_limited = sample("linkedin_ads_ratelimit_rejections_total", {"reason": "rate_limited"})

    await limiter.acquire("c1", "100")
    with pytest.raises(QuotaExceededError):
        await limiter.acquire("c1", "100")

    assert sample(checks, {"result": "admitted"}) == admitted + 1
    assert sample(checks, {"result": "rejected"}) == rejected + 1
    assert (
        sample("linkedin_ads_ratelimit_rejections_total", {"reason": "rate_limited"})
        == rate_limited + 1
    )
