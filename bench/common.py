"""Shared pieces of the benchmarks: servers in subprocesses, a load generator, result entries."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from app.core.embedded import EmbeddedPostgres, EmbeddedValkey, find_free_port


def entry(name: str, value: float, baseline: float, goal: str, unit: str = "") -> dict[str, Any]:
    ratio = value / baseline if baseline else float("inf")
    return {
        "name": name,
        "value": round(value, 3),
        "baseline": round(baseline, 3),
        "ratio": round(ratio, 3),
        "goal": goal,
        "unit": unit,
    }


@contextlib.contextmanager
def backing_servers() -> Iterator[tuple[str, str]]:
    """PostgreSQL and Redis URLs: from TEST_DATABASE_URL/TEST_REDIS_URL, else embedded."""
    from app.cli import ensure_database

    with tempfile.TemporaryDirectory(prefix="linkedin-ads-bench-") as folder:
        stoppers: list[Any] = []
        database = os.environ.get("TEST_DATABASE_URL")
        redis = os.environ.get("TEST_REDIS_URL")
        if not database:
            postgres = EmbeddedPostgres(Path(folder) / "postgres")
            postgres.start()
            stoppers.append(postgres)
            database = postgres.url
        if not redis:
            valkey = EmbeddedValkey(Path(folder) / "valkey")
            valkey.start()
            stoppers.append(valkey)
            redis = valkey.url
        database = ensure_database(
            database.replace("postgresql://", "postgresql+asyncpg://"), "linkedin_ads_bench"
        )
        try:
            yield database, redis
        finally:
            for stopper in reversed(stoppers):
                stopper.stop()


@contextlib.contextmanager
def server_process(
    arguments: list[str], env: dict[str, str] | None = None, health_path: str = "/health"
) -> Iterator[tuple[str, int]]:
    """Run `python -m ...arguments` with `{port}` filled in; yield (base URL, pid)."""
    port = find_free_port()
    command = [sys.executable, *[part.replace("{port}", str(port)) for part in arguments]]
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + health_path, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{arguments} did not start: "
                    f"{process.stderr.read().decode()[-2000:] if process.stderr else ''}"
                )
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def load(
    url: str,
    *,
    method: str = "GET",
    json_bodies: list[Any] | None = None,
    headers: dict[str, str] | None = None,
    concurrency: int = 50,
    seconds: float = 4.0,
    warmup_seconds: float = 0.5,
    expect_status: int = 200,
) -> LoadResult:
    """Keep `concurrency` requests in flight for `seconds`; count answers and latencies."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker(deadline: float, record: bool) -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                body = json_bodies[counter % len(json_bodies)] if json_bodies else None
                started = time.perf_counter()
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    ok = response.status == expect_status
                if record:
                    latencies.append(time.perf_counter() - started)
                    errors += 0 if ok else 1

        await asyncio.gather(
            *(worker(time.perf_counter() + warmup_seconds, False) for _ in range(concurrency))
        )
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return LoadResult(len(latencies), elapsed, p99, errors)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
