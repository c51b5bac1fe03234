"""Periodic background jobs inside each service process.

Every replica runs the same jobs; a job that must not run twice for the same thing claims
its work in PostgreSQL (row locks or `FOR UPDATE SKIP LOCKED`), so no leader is elected.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

logger = logging.getLogger(__name__)

JOB_RUNS = Counter(
    "linkedin_ads_job_runs_total", "Background job runs, by job and outcome.", ["job", "outcome"]
)
JOB_DURATION = Histogram(
    "linkedin_ads_job_duration_seconds",
    "Background job run time.",
    ["job"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
JOB_LAST_SUCCESS = Gauge(
    "linkedin_ads_job_last_success_timestamp_seconds",
    "Unix time of each job's last successful run.",
    ["job"],
)


@dataclass
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]
    # Spread the first run so replicas started together do not all start at once.
    initial_delay_seconds: float = 0.0
    last_error: str | None = field(default=None, init=False)


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(
        self,
        name: str,
        interval_seconds: float,
        run: Callable[[], Awaitable[object]],
        *,
        initial_delay_seconds: float | None = None,
    ) -> None:
        delay = (
            random.uniform(0, min(interval_seconds, 30))  # noqa: S311 - jitter, not crypto
            if initial_delay_seconds is None
            else initial_delay_seconds
        )
        self.jobs.append(Job(name, interval_seconds, run, delay))

    def start(self) -> None:
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))
        logger.info("scheduler.started", extra={"jobs": [job.name for job in self.jobs]})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def run_once(self, name: str) -> object:
        job = next(job for job in self.jobs if job.name == name)
        return await self._run(job)

    async def _run(self, job: Job) -> object:
        started = time.perf_counter()
        try:
            result = await job.run()
        except Exception as error:
            JOB_RUNS.labels(job.name, "error").inc()
            job.last_error = f"{type(error).__name__}: {error}"
            logger.exception("job.failed", extra={"job": job.name})
            raise
        finally:
            JOB_DURATION.labels(job.name).observe(time.perf_counter() - started)
        JOB_RUNS.labels(job.name, "ok").inc()
        JOB_LAST_SUCCESS.labels(job.name).set(time.time())
        job.last_error = None
        return result

    async def _loop(self, job: Job) -> None:
        await asyncio.sleep(job.initial_delay_seconds)
        while True:
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: S110 - logged and counted in _run; keep the loop alive
                pass
            await asyncio.sleep(job.interval_seconds)
