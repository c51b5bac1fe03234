"""The one shared HTTP client for LinkedIn: keep-alive, bounded pools, explicit timeouts."""

from __future__ import annotations

import httpx

from app.core.settings import Settings


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=settings.linkedin_ads_http_max_connections,
        max_keepalive_connections=settings.linkedin_ads_http_max_connections,
        keepalive_expiry=30,
    )
    timeout = httpx.Timeout(settings.linkedin_ads_http_timeout_seconds, connect=5.0)
    return httpx.AsyncClient(limits=limits, timeout=timeout, follow_redirects=False)
