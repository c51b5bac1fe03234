"""The shared Redis client, with short timeouts so an outage fails fast instead of hanging."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def create_redis(
    redis_url: str, *, timeout_seconds: float = 0.25, max_connections: int = 200
) -> Redis:
    # A blocking pool makes a burst wait briefly for a free connection; a plain pool raises
    # at once, which the limiter would report as Redis being unavailable.
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=10,
    )
    return Redis(connection_pool=pool)
