"""Real processes over real sockets: `make demo` and `make run` as a user would run them."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from app.core.embedded import EmbeddedPostgres, EmbeddedServerError, find_free_port

ROOT = Path(__file__).resolve().parents[2]


def plain_env(**values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LINKEDIN_ADS_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(values)
    return env


def test_demo_completes(database_url: str, redis_url: str, db_engine) -> None:
    env = plain_env(DATABASE_URL=database_url, REDIS_URL=redis_url)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "approved on the sandbox's consent page" in output
    assert "dryRun=true" in output
    assert "dryRun=false" in output
    for line in ("resume   -> ACTIVE", "pause    -> PAUSED", "archive  -> ARCHIVED"):
        assert line in output
    assert "demo completed" in output


def test_dev_stack_serves_health(tmp_path: Path) -> None:
    """`make run` on a machine without PostgreSQL or Redis: embedded servers, then Ctrl-C."""
    port, sandbox_port = find_free_port(), find_free_port()
    env = plain_env(LINKEDIN_ADS_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "dev",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert health is not None and health.status_code == 200
        assert health.json()["checks"]["postgres"]["status"] == "up"
        assert health.json()["checks"]["redis"]["status"] == "up"
        sandbox = httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/state", timeout=2)
        assert sandbox.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Ready." in output
    assert f"http://127.0.0.1:{port}/docs" in output
    for closed in (port, sandbox_port):
        try:
            httpx.get(f"http://127.0.0.1:{closed}/", timeout=1)
            still_open = True
        except httpx.HTTPError:
            still_open = False
        assert not still_open, f"port {closed} still answers after Ctrl-C"


def start_dev(
    data_dir: Path, log_path: Path, *, ignore_sigint: bool = False
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start `linkedin-ads dev` on free ports with its output in `log_path`.

    `ignore_sigint` starts it the way a shell starts a background job, with SIGINT ignored.
    """
    port, sandbox_port = find_free_port(), find_free_port()
    env = plain_env(LINKEDIN_ADS_DATA_DIR=str(data_dir))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "dev",
                "--port",
                str(port),
                "--sandbox-port",
                str(sandbox_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
            if ignore_sigint
            else None,
        )
    return process, port, sandbox_port


def wait_for_health(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no /health 200 within 90 s:\n{log_path.read_text()}")


def embedded_ports(log_path: Path) -> dict[str, int]:
    """Read the embedded PostgreSQL and Valkey ports from the output of `dev`."""
    text = log_path.read_text()
    postgres = re.search(r"postgresql://postgres@127\.0\.0\.1:(\d+)/linkedin_ads", text)
    valkey = re.search(r"embedded Valkey on 127\.0\.0\.1:(\d+)", text)
    assert postgres is not None, text
    assert valkey is not None, text
    return {"postgres": int(postgres.group(1)), "valkey": int(valkey.group(1))}


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop_leftovers(data_dir: Path, children: list[psutil.Process]) -> None:
    """Kill what a failed run left behind: child processes and the embedded servers."""
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    EmbeddedPostgres(data_dir / "postgres").stop()
    pidfile = data_dir / "valkey" / "valkey.pid"
    if pidfile.exists():
        with contextlib.suppress(ValueError, psutil.NoSuchProcess):
            psutil.Process(int(pidfile.read_text().strip())).kill()


def test_dev_stack_stops_on_sigterm(tmp_path: Path) -> None:
    """`kill -TERM` on `make run` stops every server, and the next run starts cleanly."""
    data_dir = tmp_path / "data"
    first_log = tmp_path / "first.log"
    process, port, sandbox_port = start_dev(data_dir, first_log)
    children: list[psutil.Process] = []
    try:
        wait_for_health(process, port, first_log)
        children = psutil.Process(process.pid).children(recursive=True)
        servers = embedded_ports(first_log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, first_log.read_text()
        for name, closed in {"service": port, "sandbox": sandbox_port, **servers}.items():
            assert not port_open(closed), f"{name} port {closed} still open after SIGTERM"
        assert [child.pid for child in children if child.is_running()] == []

        second_log = tmp_path / "second.log"
        process, port, sandbox_port = start_dev(data_dir, second_log)
        wait_for_health(process, port, second_log)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, second_log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
        stop_leftovers(data_dir, children)


def test_dev_stack_recovers_after_crash(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves PostgreSQL and Valkey running; the next run stops them."""
    data_dir = tmp_path / "data"
    first_log = tmp_path / "first.log"
    process, port, _ = start_dev(data_dir, first_log)
    children: list[psutil.Process] = []
    try:
        wait_for_health(process, port, first_log)
        children = psutil.Process(process.pid).children(recursive=True)
        stale = embedded_ports(first_log)
        process.kill()
        process.wait(timeout=10)
        for child in children:
            child.kill()
        assert port_open(stale["postgres"])
        assert port_open(stale["valkey"])

        second_log = tmp_path / "second.log"
        process, port, _ = start_dev(data_dir, second_log)
        wait_for_health(process, port, second_log)
        children = psutil.Process(process.pid).children(recursive=True)
        assert not port_open(stale["postgres"]), "the stale PostgreSQL still runs"
        assert not port_open(stale["valkey"]), "the stale Valkey still runs"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, second_log.read_text()
        for name, closed in embedded_ports(second_log).items():
            assert not port_open(closed), f"{name} port {closed} still open after Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
        stop_leftovers(data_dir, children)


def test_postgres_start_error_shows_log(tmp_path: Path) -> None:
    """When `pg_ctl start` fails, the error carries the end of server.log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        postgres = EmbeddedPostgres(tmp_path / "postgres", port=port)
        with pytest.raises(EmbeddedServerError) as raised:
            postgres.start(timeout=20)
    message = str(raised.value)
    assert "server.log" in message
    assert "could not" in message.lower()
    assert str(port) in message


def test_background_dev_stops_on_sigint(tmp_path: Path) -> None:
    """A background job starts with SIGINT ignored; `kill -INT` must still stop the stack."""
    data_dir = tmp_path / "data"
    log = tmp_path / "dev.log"
    process, port, sandbox_port = start_dev(data_dir, log, ignore_sigint=True)
    children: list[psutil.Process] = []
    try:
        wait_for_health(process, port, log)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, log.read_text()
        assert not port_open(port)
        assert not port_open(sandbox_port)
    finally:
        if process.poll() is None:
            process.kill()
        stop_leftovers(data_dir, children)
