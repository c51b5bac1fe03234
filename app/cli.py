"""`linkedin-ads`: run the service, the sandbox, migrations, the demo and operator tasks."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

DATA_DIR = Path(os.environ.get("LINKEDIN_ADS_DATA_DIR", ".data"))


def migrate(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server when missing; return its URL."""
    import asyncpg

    async def create() -> None:
        connection = await asyncpg.connect(
            server_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return server_url.rsplit("/", 1)[0] + "/" + name


def check_settings() -> None:
    """Stop with one line per bad variable instead of a traceback."""
    from app.core.settings import SettingsError, load_settings

    try:
        load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        sys.exit(2)


def command_serve(args: argparse.Namespace) -> None:
    import uvicorn

    check_settings()
    uvicorn.run(
        "app.main:create_default_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        proxy_headers=True,
        log_level=args.log_level.lower(),
    )


def command_migrate(args: argparse.Namespace) -> None:
    check_settings()
    migrate()
    print("migrations applied")


def command_sandbox(args: argparse.Namespace) -> None:
    from app.sandbox.server import run

    run(args.host, args.port)


def command_keygen(args: argparse.Namespace) -> None:
    from app.core.security import generate_key

    print(generate_key())


def command_rotate_keys(args: argparse.Namespace) -> None:
    from app.connections.keys import KeyRotationReport, rotate_token_keys
    from app.core.database import create_engine, create_session_factory
    from app.core.security import TokenCipher
    from app.core.settings import get_settings

    settings = get_settings()

    async def run() -> KeyRotationReport:
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            cipher = TokenCipher(settings.linkedin_ads_token_encryption_keys)
            return await rotate_token_keys(create_session_factory(engine), cipher)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print(f"connections with tokens: {report.connections}")
    print(f"tokens re-encrypted with the first key: {report.rotated}")
    print(f"tokens already encrypted with the first key: {report.current}")
    if report.unreadable:
        ids = ", ".join(str(item) for item in report.unreadable)
        print(
            f"connections with tokens no configured key decrypts: {len(report.unreadable)} "
            f"({ids}); add the key that encrypted them to LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS "
            "and run rotate-keys again",
            file=sys.stderr,
        )
        sys.exit(1)


def wait_for_http(url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not respond within {timeout:.0f} s")


def rate_limit_tier_configured(env: dict[str, str]) -> bool:
    """Tell whether LINKEDIN_ADS_RATE_LIMIT_TIER is set in `env` or in `.env`."""
    from dotenv import dotenv_values

    if env.get("LINKEDIN_ADS_RATE_LIMIT_TIER"):
        return True
    # Settings read `.env` case-insensitively, so the file's key may have any case.
    return any(
        key.upper() == "LINKEDIN_ADS_RATE_LIMIT_TIER" and value
        for key, value in dotenv_values(".env").items()
    )


def start_local_stack(
    *,
    service_port: int,
    sandbox_port: int,
    live_mode: bool,
    extra_env: dict[str, str] | None = None,
    data_dir: Path = DATA_DIR,
    quiet: bool = False,
) -> tuple[list[subprocess.Popen[bytes]], list[object], dict[str, str]]:
    """Start embedded servers (unless URLs are set), the sandbox and the service.

    When any step fails or is interrupted, what already runs is stopped before the error
    propagates.
    """
    processes: list[subprocess.Popen[bytes]] = []
    stoppers: list[object] = []
    try:
        env = _start_local_stack(
            processes,
            stoppers,
            service_port=service_port,
            sandbox_port=sandbox_port,
            live_mode=live_mode,
            extra_env=extra_env,
            data_dir=data_dir,
            quiet=quiet,
        )
    except BaseException:
        stop_local_stack(processes, stoppers)
        raise
    return processes, stoppers, env


def _start_local_stack(
    processes: list[subprocess.Popen[bytes]],
    stoppers: list[object],
    *,
    service_port: int,
    sandbox_port: int,
    live_mode: bool,
    extra_env: dict[str, str] | None,
    data_dir: Path,
    quiet: bool,
) -> dict[str, str]:
    """Start the stack, appending each started process and server as soon as it runs."""
    from app.core.embedded import EmbeddedPostgres, EmbeddedValkey

    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        postgres = EmbeddedPostgres(data_dir / "postgres")
        stoppers.append(postgres)
        postgres.start()
        env["DATABASE_URL"] = ensure_database(postgres.url, "linkedin_ads")
        print(
            f"  embedded PostgreSQL at postgresql://postgres@127.0.0.1:{postgres.port}/linkedin_ads"
            f" (data in {postgres.data_dir})"
        )
    if not env.get("REDIS_URL"):
        valkey = EmbeddedValkey(data_dir / "valkey")
        stoppers.append(valkey)
        valkey.start()
        env["REDIS_URL"] = valkey.url
        print(f"  embedded Valkey on 127.0.0.1:{valkey.port}")
    migrate(env["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://"))
    print("  migrations applied")

    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env.setdefault("LINKEDIN_ADS_API_BASE_URL", sandbox_url + "/rest")
    env.setdefault("LINKEDIN_ADS_OAUTH_BASE_URL", sandbox_url + "/oauth/v2")
    env.setdefault(
        "LINKEDIN_ADS_REDIRECT_URI",
        f"http://127.0.0.1:{service_port}/v1/connections/oauth/callback",
    )
    env.setdefault(
        "LINKEDIN_ADS_ALLOWED_RETURN_URLS",
        f"http://127.0.0.1:{service_port}/,http://localhost:3000/",
    )
    if not rate_limit_tier_configured(env):
        # The local stack talks to the sandbox, not LinkedIn, and a few minutes of clicking
        # through the API use most of the development tier's 100 calls a day.
        env["LINKEDIN_ADS_RATE_LIMIT_TIER"] = "standard"
        print("  LINKEDIN_ADS_RATE_LIMIT_TIER is not set; using the standard tier")
    env["LINKEDIN_ADS_LIVE_MODE"] = (
        "true" if live_mode else env.get("LINKEDIN_ADS_LIVE_MODE", "false")
    )
    env.update(extra_env or {})
    if quiet:
        env["LINKEDIN_ADS_LOG_LEVEL"] = "WARNING"
    python = sys.executable
    processes.append(
        subprocess.Popen(
            [
                python,
                "-m",
                "app.sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(sandbox_port),
            ],
            env=env,
        )
    )
    processes.append(
        subprocess.Popen(
            [
                python,
                "-m",
                "app.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(service_port),
            ],
            env=env,
        )
    )
    wait_for_http(sandbox_url + "/_sandbox/state", 60)
    wait_for_http(f"http://127.0.0.1:{service_port}/health", 60)
    return env


def stop_local_stack(
    processes: Sequence[subprocess.Popen[bytes]], stoppers: Sequence[object]
) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    for stopper in reversed(stoppers):
        stopper.stop()  # type: ignore[attr-defined]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def command_dev(args: argparse.Namespace) -> None:
    from app.core.embedded import EmbeddedServerError

    # SIGTERM (kill, service managers) and SIGHUP (a closed terminal) stop the stack as
    # Ctrl-C does; Python's default for both ends the process without stopping its servers.
    # SIGINT is set too: a shell that starts a job in the background makes it ignore SIGINT,
    # and Python then never raises KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    print("Starting the LinkedIn Ads integration locally:")
    try:
        processes, stoppers, _ = start_local_stack(
            service_port=args.port, sandbox_port=args.sandbox_port, live_mode=False
        )
    except EmbeddedServerError as error:
        print(f"could not start the local stack: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\nstopped during startup")
        return
    try:
        print(
            f"""
Ready.
  service   http://127.0.0.1:{args.port}   (API docs: http://127.0.0.1:{args.port}/docs)
  health    http://127.0.0.1:{args.port}/health
  sandbox   http://127.0.0.1:{args.sandbox_port}   (LinkedIn imitation)
  API key   workspace "demo-workspace", key "dev-api-key" (send as Authorization: Bearer)
  mode      dry-run (writes are synthetic) unless LINKEDIN_ADS_LIVE_MODE=true

Next: `make demo` in another terminal, or start a connection:
  curl -s -X POST http://127.0.0.1:{args.port}/v1/connections/oauth/start \\
       -H 'Authorization: Bearer dev-api-key' -H 'Content-Type: application/json' \\
       -d '{{"returnUrl": "http://127.0.0.1:{args.port}/docs"}}'
and open the authorizationUrl it returns in a browser.
Press Ctrl-C to stop everything.""",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("a child process stopped; shutting down", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping ...")
    finally:
        # A second signal must not cut the shutdown short and leave servers running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stop_local_stack(processes, stoppers)


def command_demo(args: argparse.Namespace) -> None:
    from app.demo import run_demo_with_local_stack

    sys.exit(run_demo_with_local_stack())


def command_sync(args: argparse.Namespace) -> None:
    from app.analytics.cli import run_sync

    sys.exit(run_sync())


def command_backfill(args: argparse.Namespace) -> None:
    from app.analytics.cli import run_backfill

    sys.exit(run_backfill(args.account, args.start, args.end, args.workspace))


def command_load_fx_rates(args: argparse.Namespace) -> None:
    from app.analytics.cli import load_fx_rates

    sys.exit(load_fx_rates(args.file))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linkedin-ads", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--log-level",
        default=os.environ.get("LINKEDIN_ADS_LOG_LEVEL", "INFO"),
        help="uvicorn's and the service's log level (default: INFO)",
    )
    serve.set_defaults(handler=command_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        handler=command_migrate
    )

    sandbox = commands.add_parser("sandbox", help="run the LinkedIn sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8001)
    sandbox.set_defaults(handler=command_sandbox)

    dev = commands.add_parser("dev", help="embedded servers + sandbox + service (make run)")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--sandbox-port", type=int, default=8001)
    dev.set_defaults(handler=command_dev)

    commands.add_parser("demo", help="run the main job against the sandbox").set_defaults(
        handler=command_demo
    )
    commands.add_parser("keygen", help="print a new token encryption key").set_defaults(
        handler=command_keygen
    )

    commands.add_parser(
        "sync", help="sync every due ad account once (analytics and events)"
    ).set_defaults(handler=command_sync)
    backfill = commands.add_parser("backfill", help="pull analytics of one ad account for a range")
    backfill.add_argument("--account", type=int, required=True, help="LinkedIn ad account id")
    backfill.add_argument(
        "--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD"
    )
    backfill.add_argument(
        "--end", type=date.fromisoformat, required=True, help="last day (inclusive), YYYY-MM-DD"
    )
    backfill.add_argument("--workspace", help="workspace id, when several hold the account")
    backfill.set_defaults(handler=command_backfill)
    fx_rates = commands.add_parser(
        "load-fx-rates", help="load USD exchange rates from a CSV with date,currency,usd_per_unit"
    )
    fx_rates.add_argument("file", type=Path, help="CSV file path")
    fx_rates.set_defaults(handler=command_load_fx_rates)
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored token with the first of LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS",
    ).set_defaults(handler=command_rotate_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
