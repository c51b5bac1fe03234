"""Benchmark: rate limiter checks per second against raw EVALSHA of a no-op script.

Both sides run the same number of concurrent asyncio tasks over one connection pool each, on the
same Redis in the same run, alternating in short rounds so that drift on the machine hits
both. Round trips are counted by wrapping the pool's connection class, so every command the
limiter sends is seen, whatever it is.

    python -m bench.bench_ratelimit --redis-url redis://127.0.0.1:6379/0

Without `--redis-url` it starts an embedded Valkey on a loopback port. It writes only keys of
its own client id, which expire within a second of the run; it never flushes the database.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool

from app.core.settings import Settings
from app.ratelimit.limiter import RateLimiter

TASKS = 50
ACCOUNTS = 100
ROUNDS = 6
NO_OP_SCRIPT = "return 0"


class CountingConnection(Connection):
    """A connection that counts the commands (or pipelines) it writes: one per round trip."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def _client(redis_url: str) -> Redis:
    pool = ConnectionPool.from_url(
        redis_url, connection_class=CountingConnection, max_connections=TASKS + 10
    )
    return Redis(connection_pool=pool)


async def _measure(
    call: Callable[[int], Awaitable[object]], seconds: float
) -> tuple[int, int, float]:
    """Run `call` from TASKS tasks for `seconds`; return (calls, round trips, elapsed)."""
    deadline = time.perf_counter() + seconds
    counts = [0] * TASKS

    async def loop(task: int) -> None:
        index = task
        while time.perf_counter() < deadline:
            await call(index)
            counts[task] += 1
            index += TASKS

    sent_before = CountingConnection.sent
    started = time.perf_counter()
    await asyncio.gather(*(loop(task) for task in range(TASKS)))
    elapsed = time.perf_counter() - started
    return sum(counts), CountingConnection.sent - sent_before, elapsed


async def _run(redis_url: str, seconds: float) -> list[dict[str, Any]]:
    baseline_client = _client(redis_url)
    limiter_client = _client(redis_url)
    # The standard tier's shape with a limit no run reaches, so every check is admitted and
    # records the call, which is the common path.
    settings = Settings(
        linkedin_ads_rate_limit_tier="standard",
        linkedin_ads_rate_limit_windows={"second": {"limit": 10_000_000, "seconds": 1}},
        linkedin_ads_rate_limit_timeout_seconds=5,
    )
    limiter = RateLimiter(limiter_client, settings)
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    no_op_sha = hashlib.sha1(NO_OP_SCRIPT.encode(), usedforsecurity=False).hexdigest()
    await baseline_client.script_load(NO_OP_SCRIPT)

    async def no_op(index: int) -> object:
        return await baseline_client.evalsha(no_op_sha, 0)

    async def check(index: int) -> object:
        await limiter.acquire(client_id, str(index % ACCOUNTS))
        return None

    # Warm-up: open the pools' connections and load the limiter's script.
    await _measure(no_op, 0.3)
    await _measure(check, 0.3)

    totals = {"baseline": [0, 0, 0.0], "limiter": [0, 0, 0.0]}
    for _ in range(ROUNDS):
        for name, call in (("baseline", no_op), ("limiter", check)):
            calls, round_trips, elapsed = await _measure(call, seconds / ROUNDS)
            totals[name][0] += calls
            totals[name][1] += round_trips
            totals[name][2] += elapsed
    await baseline_client.aclose()
    await limiter_client.aclose()

    baseline_rate = totals["baseline"][0] / totals["baseline"][2]
    limiter_rate = totals["limiter"][0] / totals["limiter"][2]
    baseline_trips = totals["baseline"][1] / totals["baseline"][0]
    limiter_trips = totals["limiter"][1] / totals["limiter"][0]
    return [
        {
            "name": "ratelimit_checks_per_second",
            "value": round(limiter_rate, 1),
            "baseline": round(baseline_rate, 1),
            "ratio": round(limiter_rate / baseline_rate, 3),
            "goal": ">= 0.8",
        },
        {
            "name": "ratelimit_round_trips_per_check",
            "value": round(limiter_trips, 4),
            "baseline": round(baseline_trips, 4),
            "ratio": round(limiter_trips / baseline_trips, 4),
            "goal": "<= 1.0",
        },
    ]


def run(redis_url: str, seconds: float = 4.0) -> list[dict[str, Any]]:
    """Measure both entries on the Redis at `redis_url`; `seconds` is per side."""
    return asyncio.run(_run(redis_url, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", help="Redis to measure on; default: an embedded Valkey")
    parser.add_argument("--seconds", type=float, default=4.0, help="measuring time per side, s")
    arguments = parser.parse_args()
    if arguments.redis_url:
        results = run(arguments.redis_url, arguments.seconds)
    else:
        from app.core.embedded import EmbeddedValkey

        with tempfile.TemporaryDirectory(prefix="bench-valkey-") as folder:
            server = EmbeddedValkey(Path(folder))
            server.start()
            try:
                results = run(server.url, arguments.seconds)
            finally:
                server.stop()
    for entry in results:
        print(json.dumps(entry))


if __name__ == "__main__":
    main()
