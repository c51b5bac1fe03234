"""Two service processes sharing one database refresh a due token once between them.

The processes are real `linkedin-ads serve` subprocesses: separate interpreters, event loops,
engines and pools, so nothing but PostgreSQL's row lock can stop the second refresh.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.embedded import find_free_port
from tests.conftest import API_KEY_A, API_KEY_B, ROOT, Service
from tests.connections.test_tokens import (
    LIMITER_TIMEOUT_SECONDS,
    connect,
    first_account,
    refresh_calls,
    revoke_upstream,
    set_expiry,
    upstream_statuses,
)
from tests.servers import ThreadedServer

STARTUP_SECONDS = 60


def service_env(database_url: str, redis_url: str, sandbox_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "LINKEDIN_ADS_ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LINKEDIN_ADS_API_BASE_URL": sandbox_url + "/rest",
        "LINKEDIN_ADS_OAUTH_BASE_URL": sandbox_url + "/oauth/v2",
        "LINKEDIN_ADS_SERVICE_API_KEYS": f"workspace-a={API_KEY_A},workspace-b={API_KEY_B}",
        "LINKEDIN_ADS_SCHEDULER_ENABLED": "false",
        "LINKEDIN_ADS_RATE_LIMIT_TIER": "standard",
        "LINKEDIN_ADS_RATE_LIMIT_TIMEOUT_SECONDS": str(LIMITER_TIMEOUT_SECONDS),
    }


async def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"service process exited with {process.returncode}")
            try:
                if (await client.get(url + "/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url}/health did not return 200 within {STARTUP_SECONDS} s")


@pytest.fixture
async def processes(
    database_url: str, redis_url: str, sandbox_server: ThreadedServer, tmp_path: Path
) -> AsyncIterator[list[str]]:
    """Start two service processes on loopback ports; yield their base URLs."""
    env = service_env(database_url, redis_url, sandbox_server.url)
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    logs = []
    try:
        for index in range(2):
            port = find_free_port()
            log = (tmp_path / f"service-{index}.log").open("wb")
            logs.append(log)
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        await asyncio.gather(*(wait_healthy(url, process) for process, url in started))
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def refreshed_total(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('linkedin_ads_token_refreshes_total{outcome="refreshed"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_two_processes_refresh_once(
    service: Service, processes: list[str], sandbox: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    connection_id = await connect(service.api)
    account = await first_account(service.api)
    old_token = await service.app.state.tokens.access_token(uuid.UUID(connection_id))
    await revoke_upstream(sandbox, old_token)
    await set_expiry(db_engine, connection_id, access=timedelta(hours=1))
    # A slow token endpoint keeps the first refresh open while the other process arrives.
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"path_regex": "^/oauth/v2/accessToken"}, "latency_ms": 300},
    )
    await sandbox.delete("/_sandbox/requests")

    headers = {"Authorization": f"Bearer {API_KEY_A}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.get(f"{url}/v1/ad-accounts/{account}/campaigns")
                for _ in range(50)
                for url in processes
            )
        )
        totals = [refreshed_total((await client.get(f"{url}/metrics")).text) for url in processes]

    assert [response.status_code for response in responses] == [200] * 100
    assert len(await refresh_calls(sandbox)) == 1
    statuses = await upstream_statuses(sandbox, "/adCampaignGroups")
    assert statuses == [200] * 100
    assert sorted(totals) == [0.0, 1.0]
