"""Prometheus metrics. Labels stay bounded: route templates, operations and status classes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "linkedin_ads_"

HTTP_REQUESTS = Counter(
    PREFIX + "http_requests_total",
    "Requests served, by route template.",
    ["method", "route", "status_class"],
)
HTTP_LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time to serve a request, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPSTREAM_REQUESTS = Counter(
    PREFIX + "upstream_requests_total",
    "Requests sent to LinkedIn, by adapter operation.",
    ["operation", "status_class"],
)
UPSTREAM_LATENCY = Histogram(
    PREFIX + "upstream_request_duration_seconds",
    "Time LinkedIn took to answer, by operation.",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_RETRIES = Counter(
    PREFIX + "upstream_retries_total",
    "Retries of LinkedIn requests, by operation and cause.",
    ["operation", "reason"],
)
DRY_RUN_WRITES = Counter(
    PREFIX + "dry_run_writes_total",
    "Writes answered synthetically in dry-run mode.",
    ["operation"],
)
API_VERSION_INACTIVE = Gauge(
    PREFIX + "api_version_inactive",
    "1 when LinkedIn answered that the configured LinkedIn-Version is not active.",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_UNMATCHED = "<unmatched>"


class MetricsMiddleware:
    """Counts and times requests by route template, as plain ASGI (no per-request task)."""

    def __init__(self, app: ASGIApp, skip_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.skip_paths = skip_paths
        # Labelled children, looked up once per (method, route, status class): prometheus-client's
        # `labels()` takes a lock and builds a key on every call.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _metrics_for(self, method: str, template: str, status: int) -> tuple[Any, Any]:
        key = (method, template, status // 100)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(method, template, f"{status // 100}xx"),
                HTTP_LATENCY.labels(method, template),
            )
            self._children[key] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip_paths:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or _UNMATCHED
            requests, latency = self._metrics_for(scope["method"], template, status)
            requests.inc()
            latency.observe(time.perf_counter() - started)
