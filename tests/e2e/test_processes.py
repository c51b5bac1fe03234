"""Real processes over real sockets: `make demo` and `make run` as a user would run them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.core.embedded import find_free_port

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
