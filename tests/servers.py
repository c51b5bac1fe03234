"""Real PostgreSQL, Redis and sandbox servers for the test session.

`TEST_DATABASE_URL` / `TEST_REDIS_URL` point the suite at running servers; otherwise it starts
embedded ones in a temporary folder. The sandbox always runs in-process on a real loopback port.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

from app.core.embedded import EmbeddedPostgres, EmbeddedValkey, find_free_port


def _plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def postgres_server(work_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database made for this run, dropped afterwards."""
    given = os.environ.get("TEST_DATABASE_URL")
    embedded = None
    if given:
        server_url = given
    else:
        embedded = EmbeddedPostgres(work_dir / "postgres")
        embedded.start()
        server_url = embedded.url
    name = f"linkedin_ads_test_{uuid.uuid4().hex[:10]}"
    admin_url = _plain_url(server_url)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.stop()


@contextmanager
def redis_server(work_dir: Path) -> Iterator[tuple[str, EmbeddedValkey | None]]:
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given, None
        return
    embedded = EmbeddedValkey(work_dir / "valkey")
    embedded.start()
    try:
        yield embedded.url, embedded
    finally:
        embedded.stop()


class ThreadedServer:
    """Serve an ASGI app with uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or find_free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server thread stopped during start-up")
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
