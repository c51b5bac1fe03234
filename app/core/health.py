"""Health of the process and of what it depends on, for `/health` and operators."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from app.linkedin.client import LinkedInClient

CHECK_TIMEOUT_SECONDS = 2.0
# LinkedIn serves each monthly version for about a year before it is sunset.
VERSION_WARNING_DAYS = 365


async def check_postgres(engine: AsyncEngine) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up"}


async def check_redis(redis: Redis) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up"}


def check_api_version(
    settings: Settings, linkedin: LinkedInClient, today: date | None = None
) -> dict[str, Any]:
    today = today or datetime.now(UTC).date()
    version = settings.linkedin_ads_api_version
    age_days = (today - settings.api_version_date).days
    report: dict[str, Any] = {"version": version, "ageDays": age_days, "status": "ok"}
    if age_days > VERSION_WARNING_DAYS:
        report["status"] = "warning"
        report["warning"] = (
            f"LinkedIn-Version {version} is more than 12 months old and may be sunset; set "
            "LINKEDIN_ADS_API_VERSION to a current version"
        )
    if linkedin.version_health.inactive:
        report["status"] = "inactive"
        report["error"] = linkedin.version_health.message
    return report


async def health_report(
    *, engine: AsyncEngine, redis: Redis, settings: Settings, linkedin: LinkedInClient
) -> tuple[int, dict[str, Any]]:
    postgres, redis_state = await asyncio.gather(check_postgres(engine), check_redis(redis))
    version = check_api_version(settings, linkedin)
    down = [
        name
        for name, state in (("postgres", postgres), ("redis", redis_state))
        if state["status"] != "up"
    ]
    if down:
        status = "down"
    elif version["status"] == "inactive":
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "down": down,
        "liveMode": settings.linkedin_ads_live_mode,
        "checks": {
            "process": {"status": "up"},
            "postgres": postgres,
            "redis": redis_state,
            "linkedinApiVersion": version,
        },
    }
    return (503 if down else 200), body
