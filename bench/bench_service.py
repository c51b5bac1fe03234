"""Service benchmarks: dry-run create throughput, middleware overhead and idle memory.

Each figure is a ratio against a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg

from bench.common import LoadResult, backing_servers, entry, load, rss_kib, server_process

API_KEY = "bench-api-key-0123456789abcdef"
ACCOUNT_ID = 500000001
CREATE_BODY = {
    "name": "Benchmark campaign with a realistic name",
    "status": "PAUSED",
    "startTime": "2030-01-01T00:00:00Z",
    "endTime": "2030-02-01T00:00:00Z",
    "lifetimeBudget": "2500.00",
}


async def seed_account(database_url: str) -> None:
    connection = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        await connection.execute(
            "TRUNCATE connections, ad_accounts, idempotency_records, dry_run_entities CASCADE"
        )
        connection_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO connections (id, workspace_id, status, scopes, created_at, updated_at) "
            "VALUES ($1, 'bench', 'active', 'r_ads rw_ads', now(), now())",
            connection_id,
        )
        await connection.execute(
            "INSERT INTO ad_accounts (id, workspace_id, connection_id, account_id, name, currency,"
            " status, test, created_at, updated_at) VALUES ($1, 'bench', $2, $3, 'Bench', 'USD',"
            " 'ACTIVE', false, now(), now())",
            uuid.uuid4(),
            connection_id,
            ACCOUNT_ID,
        )
    finally:
        await connection.close()


def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LINKEDIN_ADS_SERVICE_API_KEYS": f"bench={API_KEY}",
        "LINKEDIN_ADS_SCHEDULER_ENABLED": "false",
        "LINKEDIN_ADS_LIVE_MODE": "false",
    }


async def alternate(
    stacked_url: str, auth: dict[str, str], plain_url: str, rounds: int = 8
) -> tuple[LoadResult, LoadResult]:
    """Load the two servers in alternating one-second rounds and add the rounds up.

    Both run at once and take turns, so a neighbour's load on this shared machine falls on
    both sides alike instead of on whichever happened to be measured at the time.
    """
    stacked, plain = LoadResult(0, 0.0, 0.0, 0), LoadResult(0, 0.0, 0.0, 0)
    for _ in range(rounds):
        for url, headers, total in ((stacked_url, auth, stacked), (plain_url, {}, plain)):
            result = await load(url, headers=headers, seconds=1.0, warmup_seconds=0.2)
            total.requests += result.requests
            total.seconds += result.seconds
            total.errors += result.errors
            total.p99_ms = max(total.p99_ms, result.p99_ms)
    return stacked, plain


UVICORN = [
    "-m",
    "uvicorn",
    "--host",
    "127.0.0.1",
    "--port",
    "{port}",
    "--log-level",
    "warning",
    "--no-access-log",
]


def run() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with backing_servers() as (database_url, redis_url):
        from app.cli import migrate

        migrate(database_url)
        asyncio.run(seed_account(database_url))
        env = service_env(database_url, redis_url)
        auth = {"Authorization": f"Bearer {API_KEY}"}

        with server_process([*UVICORN, "bench.apps:bare_app"]) as (bare_url, bare_pid):
            bare_rss = rss_kib(bare_pid)
            bare_create = asyncio.run(
                load(
                    bare_url + "/echo", method="POST", json_bodies=[CREATE_BODY], expect_status=201
                )
            )

        with server_process([*UVICORN, "--factory", "bench.apps:service_with_ping"], env) as (
            service_url,
            service_pid,
        ):
            time.sleep(1.0)
            service_rss = rss_kib(service_pid)
            created = asyncio.run(
                load(
                    f"{service_url}/v1/ad-accounts/{ACCOUNT_ID}/campaigns",
                    method="POST",
                    json_bodies=[CREATE_BODY],
                    headers=auth,
                    expect_status=201,
                )
            )
            with server_process(
                [*UVICORN, "--factory", "bench.apps:service_without_middleware"], env
            ) as (plain_url, _):
                stacked_ping, bare_ping = asyncio.run(
                    alternate(service_url + "/bench/ping", auth, plain_url + "/bench/open")
                )

        if created.errors or stacked_ping.errors:
            raise RuntimeError(
                f"benchmark requests failed: {created.errors} creates, {stacked_ping.errors} pings"
            )
        results.append(
            entry(
                "dry-run create campaign, requests/s vs bare FastAPI POST",
                created.per_second,
                bare_create.per_second,
                ">= 0.75",
                "req/s",
            )
        )
        results.append(
            entry(
                "middleware stack (metrics, request id, body limit, API key), requests/s "
                "vs the same app without it",
                stacked_ping.per_second,
                bare_ping.per_second,
                ">= 0.9",
                "req/s",
            )
        )
        results.append(
            entry(
                "idle worker RSS vs bare FastAPI with the same imports",
                service_rss / 1024,
                bare_rss / 1024,
                "<= 1.25",
                "MiB",
            )
        )
    return results


if __name__ == "__main__":
    for item in run():
        print(item)
