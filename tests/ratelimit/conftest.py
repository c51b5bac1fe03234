"""Limiters on the session's Redis, with windows short enough for tests to cross."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from app.core.settings import Settings
from app.ratelimit.limiter import RateLimiter

MakeLimiter = Callable[..., RateLimiter]


def limiter_settings(
    windows: dict[str, tuple[int, float]] | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    timeout: float = 0.25,
) -> Settings:
    """Build settings from `{name: (limit, seconds)}`; None keeps the tier's windows."""
    values: dict[str, Any] = {
        "linkedin_ads_client_id": "test-client",
        "linkedin_ads_rate_limit_timeout_seconds": timeout,
        "linkedin_ads_rate_limit_account_overrides": overrides or {},
    }
    if windows is not None:
        values["linkedin_ads_rate_limit_windows"] = {
            name: {"limit": limit, "seconds": seconds} for name, (limit, seconds) in windows.items()
        }
    return Settings(**values)


@pytest.fixture
def make_limiter(redis: Redis) -> MakeLimiter:
    def make(windows: dict[str, tuple[int, float]] | None = None, **options: Any) -> RateLimiter:
        return RateLimiter(redis, limiter_settings(windows, **options))

    return make
