"""Benchmark: reads through `LinkedInClient` against the same reads made with plain aiohttp.

The sandbox runs in its own uvicorn process on a loopback port, so the benchmark's client and
the server do not share one event loop. Both sides send `GET /rest/adAccounts/{id}` with the
same headers from 50 concurrent tasks, read the whole body and decode the JSON. They alternate in
short rounds (ABBA order) so that load from elsewhere on the machine hits both, and each side's
throughput and p99 are taken over all of its rounds together.
The rate limiter is left out (limiter=None) because it has its own benchmark.

    python -m bench.bench_client [--rounds 20] [--requests 1000] [--compare-transports]

`--compare-transports` also prints throughput and p99 of the same reads through
`httpx.AsyncClient` with httpx's own transport, with `httpx_aiohttp`, and with ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import yarl

from app.core.settings import Settings
from app.linkedin.client import PROTOCOL_VERSION, LinkedInClient
from app.linkedin.transport import AiohttpTransport, create_http_client
from bench.common import entry, server_process

CONCURRENCY = 50
API_VERSION = "202601"
SANDBOX_COMMAND = [
    "-m",
    "uvicorn",
    "app.sandbox.app:create_app",
    "--factory",
    "--host",
    "127.0.0.1",
    "--port",
    "{port}",
    "--no-access-log",
    "--log-level",
    "warning",
]

Call = Callable[[], Awaitable[Any]]


@dataclass
class Sample:
    """Latencies (seconds) of the calls of one or more rounds, and their wall time."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Sample) -> None:
        self.latencies.extend(other.latencies)
        self.seconds += other.seconds

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99) - 1] * 1000


async def measure(call: Call, requests: int) -> Sample:
    """Run `requests` calls, at most CONCURRENCY at once, and time each."""
    sample = Sample()
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            sample.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    sample.seconds = time.perf_counter() - started
    return sample


async def prepare(base_url: str) -> tuple[str, int]:
    """Mint a token for the sandbox's member and pick one of its ad accounts."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as admin:
        grant = await admin.post("/_sandbox/tokens", json={})
        grant.raise_for_status()
        token = str(grant.json()["access_token"])
        accounts = await admin.get(
            "/rest/adAccounts",
            params={"q": "search"},
            headers={
                "Authorization": f"Bearer {token}",
                "LinkedIn-Version": API_VERSION,
                "X-Restli-Protocol-Version": PROTOCOL_VERSION,
            },
        )
        accounts.raise_for_status()
        return token, int(accounts.json()["elements"][0]["id"])


def headers_for(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": PROTOCOL_VERSION,
        "X-RestLi-Method": "GET",
    }


async def compare(base_url: str, rounds: int, requests: int) -> dict[str, Sample]:
    token, account_id = await prepare(base_url)
    settings = Settings(
        linkedin_ads_environment="test",
        linkedin_ads_api_base_url=base_url + "/rest",
        linkedin_ads_api_version=API_VERSION,
        linkedin_ads_http_max_connections=CONCURRENCY,
    )
    http = create_http_client(settings)
    linkedin = LinkedInClient(http=http, settings=settings, limiter=None)
    url = yarl.URL(f"{base_url}/rest/adAccounts/{account_id}", encoded=True)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    session = aiohttp.ClientSession(connector=connector, headers=headers_for(token))

    async def with_client() -> None:
        body = await linkedin.get(
            "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
        )
        assert body["id"] == account_id

    async def with_aiohttp() -> None:
        async with session.get(url) as response:
            body = json.loads(await response.read())
        assert response.status == 200
        assert body["id"] == account_id

    totals = {"client": Sample(), "aiohttp": Sample()}
    order = [("aiohttp", with_aiohttp), ("client", with_client)]
    try:
        for _, call in order:
            await measure(call, requests)
        for index in range(rounds):
            # Short rounds in ABBA order, so that load from elsewhere hits both sides alike.
            for name, call in order if index % 2 == 0 else reversed(order):
                totals[name].add(await measure(call, requests))
    finally:
        await session.close()
        await http.aclose()
    return totals


def run(rounds: int = 20, requests: int = 1000) -> list[dict[str, Any]]:
    with server_process(SANDBOX_COMMAND, health_path="/_sandbox/state") as (base_url, _):
        totals = asyncio.run(compare(base_url, rounds, requests))
    client, baseline = totals["client"], totals["aiohttp"]
    return [
        entry(
            "client reads per second vs aiohttp",
            client.per_second,
            baseline.per_second,
            ">= 0.8",
            "requests/s",
        ),
        entry("client read p99 vs aiohttp", client.p99_ms, baseline.p99_ms, "<= 1.3", "ms"),
    ]


async def compare_transports(base_url: str, requests: int) -> None:
    """Print the same reads through httpx.AsyncClient with three transports, and plain aiohttp."""
    from httpx_aiohttp import AiohttpTransport as ThirdPartyTransport

    token, account_id = await prepare(base_url)
    url = f"{base_url}/rest/adAccounts/{account_id}"
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    choices: dict[str, httpx.AsyncBaseTransport] = {
        "httpx default transport": httpx.AsyncHTTPTransport(limits=limits),
        "httpx_aiohttp transport": ThirdPartyTransport(limits=limits),
        "our aiohttp transport": AiohttpTransport(max_connections=CONCURRENCY),
    }
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONCURRENCY), headers=headers_for(token)
    ) as session:

        async def plain() -> None:
            async with session.get(yarl.URL(url, encoded=True)) as response:
                json.loads(await response.read())

        await measure(plain, requests // 5)
        sample = await measure(plain, requests)
        print(
            f"{'plain aiohttp':<26} {sample.per_second:8.0f} requests/s  "
            f"p99 {sample.p99_ms:7.1f} ms"
        )
    for name, transport in choices.items():
        async with httpx.AsyncClient(transport=transport, headers=headers_for(token)) as http:

            async def through_httpx(client: httpx.AsyncClient = http) -> None:
                (await client.get(url)).json()

            await measure(through_httpx, requests // 5)
            sample = await measure(through_httpx, requests)
        print(f"{name:<26} {sample.per_second:8.0f} requests/s  p99 {sample.p99_ms:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds per side")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument(
        "--compare-transports",
        action="store_true",
        help="also print httpx with each transport against plain aiohttp",
    )
    args = parser.parse_args()
    for item in run(args.rounds, args.requests):
        print(json.dumps(item))
    if args.compare_transports:
        with server_process(SANDBOX_COMMAND, health_path="/_sandbox/state") as (base_url, _):
            asyncio.run(compare_transports(base_url, args.requests))


if __name__ == "__main__":
    main()
