"""The apps the service benchmarks compare against.

- `bare_app`: plain FastAPI importing the same packages as the service, with a POST that echoes
  a body like the campaign DTO and a GET that answers a small JSON, and no middleware.
- `service_with_ping()` / `service_without_middleware()`: the real service app with and without
  its middleware stack, each with the same small GETs added last (one behind the API key, one
  open), so the middleware comparison differs only by the stack and the key check.
"""

from __future__ import annotations

from typing import Annotated, Any

# The same imports as the service, so the idle-memory comparison is about our code alone.
import aiohttp  # noqa: F401
import alembic  # noqa: F401
import asyncpg  # noqa: F401
import cryptography.fernet  # noqa: F401
import httpx  # noqa: F401
import prometheus_client  # noqa: F401
import pydantic_settings  # noqa: F401
import redis.asyncio  # noqa: F401
import sqlalchemy.ext.asyncio  # noqa: F401
import tenacity  # noqa: F401
from fastapi import Body, FastAPI

from app.core.auth import WorkspaceDep

bare_app = FastAPI()


@bare_app.post("/echo", status_code=201)
async def echo(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return {**body, "id": "1", "dryRun": True}


@bare_app.get("/ping")
async def bare_ping() -> dict[str, bool]:
    return {"ok": True}


@bare_app.get("/health")
async def bare_health() -> dict[str, str]:
    return {"status": "ok"}


def service_with_ping() -> FastAPI:
    """Build the real service with two more routes: `/bench/ping` (API key) and `/bench/open`."""
    from app.main import create_default_app

    app = create_default_app()

    @app.get("/bench/ping")
    async def ping(workspace: WorkspaceDep) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/bench/open")
    async def open_ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def service_without_middleware() -> FastAPI:
    """Build the same app and routes without the middleware stack, for the baseline."""
    app = service_with_ping()
    app.user_middleware = []
    return app
