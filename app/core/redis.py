"""The shared Redis client, with short timeouts so an outage fails fast instead of hanging."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(redis_url: str, *, timeout_seconds: float = 0.25) -> Redis:
    return Redis.from_url(
        redis_url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=10,
        max_connections=200,
        decode_responses=False,
    )
