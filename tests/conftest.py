"""Session-wide real servers and per-test clean state.

Fixtures:
- `database_url`: a migrated, empty PostgreSQL database for this run; tables are truncated
  before each test that asks for `db_engine` (or anything built on it).
- `redis_url` / `redis`: a real Redis (Valkey when embedded), flushed before each test.
- `sandbox_server` / `sandbox`: the LinkedIn sandbox on a loopback port, reset before each test;
  `sandbox` is an httpx client on its base URL for the `/_sandbox` admin routes.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.embedded import EmbeddedValkey
from app.models import Base
from tests.servers import ThreadedServer, postgres_server, redis_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="linkedin-ads-tests-") as folder:
        yield Path(folder)


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def database_url(work_dir: Path) -> Iterator[str]:
    with postgres_server(work_dir) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def redis_servers(work_dir: Path) -> Iterator[tuple[str, EmbeddedValkey | None]]:
    with redis_server(work_dir) as pair:
        yield pair


@pytest.fixture(scope="session")
def redis_url(redis_servers: tuple[str, EmbeddedValkey | None]) -> str:
    return redis_servers[0]


@pytest.fixture(scope="session")
async def _session_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_engine(_session_engine: AsyncEngine) -> AsyncEngine:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with _session_engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return _session_engine


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[ThreadedServer]:
    from app.sandbox.app import create_app

    with ThreadedServer(create_app()) as server:
        yield server


@pytest.fixture
async def sandbox(sandbox_server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_server.url, timeout=10) as client:
        response = await client.post("/_sandbox/reset")
        response.raise_for_status()
        yield client


# ---- the service -------------------------------------------------------------------------------

API_KEY_A = "test-key-workspace-a-0123456789"
API_KEY_B = "test-key-workspace-b-0123456789"
RETURN_URL = "http://dashboard.test/integrations"


def make_settings(database_url: str, redis_url: str, sandbox_url: str, **overrides: object):  # type: ignore[no-untyped-def]
    from app.core.settings import Settings

    values: dict[str, object] = {
        "linkedin_ads_environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "linkedin_ads_api_base_url": sandbox_url + "/rest",
        "linkedin_ads_oauth_base_url": sandbox_url + "/oauth/v2",
        "linkedin_ads_redirect_uri": "http://127.0.0.1:8000/v1/connections/oauth/callback",
        "linkedin_ads_service_api_keys": f"workspace-a={API_KEY_A},workspace-b={API_KEY_B}",
        "linkedin_ads_allowed_return_urls": "http://dashboard.test/",
        "linkedin_ads_scheduler_enabled": False,
        "linkedin_ads_max_retries": 3,
        "linkedin_ads_retry_max_wait_seconds": 0.2,
        "linkedin_ads_rate_limit_tier": "standard",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class Service:
    """A running service app (lifespan entered) with API clients for two workspaces."""

    def __init__(self, app, api: httpx.AsyncClient, other: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.api = api
        self.other = other

    async def connect(self, member: str | None = None) -> str:
        """Run the OAuth flow through the sandbox's consent page; return the connection id."""
        from app.browser import submit_consent

        start = await self.api.post("/v1/connections/oauth/start", json={"returnUrl": RETURN_URL})
        assert start.status_code == 200, start.text
        async with httpx.AsyncClient(timeout=10) as browser:
            callback = await submit_consent(browser, start.json()["authorizationUrl"], approve=True)
        path = callback.split("127.0.0.1:8000", 1)[1]
        finished = await self.api.get(path)
        assert finished.status_code == 303, finished.text
        location = finished.headers["location"]
        assert "linkedin_ads=connected" in location, location
        return location.split("connection_id=", 1)[1].split("&", 1)[0]


@asynccontextmanager
async def running_service(settings) -> AsyncIterator[Service]:  # type: ignore[no-untyped-def]
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(
                transport=transport,
                base_url="http://service.test",
                headers={"Authorization": f"Bearer {API_KEY_A}"},
            ) as api,
            httpx.AsyncClient(
                transport=transport,
                base_url="http://service.test",
                headers={"Authorization": f"Bearer {API_KEY_B}"},
            ) as other,
        ):
            yield Service(app, api, other)


@pytest.fixture
def service_settings(database_url: str, redis_url: str, sandbox_server: ThreadedServer):  # type: ignore[no-untyped-def]
    return make_settings(database_url, redis_url, sandbox_server.url)


@pytest.fixture
async def service(
    service_settings,
    db_engine: AsyncEngine,
    redis: Redis,
    sandbox: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Service]:
    """The service in dry-run mode (the default)."""
    async with running_service(service_settings) as running:
        yield running


@pytest.fixture
async def live_service(
    service_settings,
    db_engine: AsyncEngine,
    redis: Redis,
    sandbox: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Service]:
    """The service in live mode: writes go to the sandbox."""
    settings = service_settings.model_copy(update={"linkedin_ads_live_mode": True})
    async with running_service(settings) as running:
        yield running
