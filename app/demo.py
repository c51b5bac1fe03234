"""The main job end to end against the sandbox, over real sockets, printing each step.

connect (approving the consent page as a browser would) -> list ad accounts -> create a campaign
in dry-run -> in live mode: create, rename, pause, resume and archive one.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.browser import submit_consent

DEMO_API_KEY = "dev-api-key"


class DemoError(RuntimeError):
    pass


def expect(response: httpx.Response, status: int, step: str) -> Any:
    if response.status_code != status:
        raise DemoError(
            f"{step}: expected HTTP {status}, got {response.status_code}: {response.text}"
        )
    return response.json() if response.content else None


async def run_demo(
    dry_run_url: str,
    live_url: str,
    *,
    api_key: str = DEMO_API_KEY,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Drive both services (dry-run and live, sharing one database) and return what was made."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        httpx.AsyncClient(base_url=dry_run_url, headers=headers, timeout=30) as dry,
        httpx.AsyncClient(base_url=live_url, headers=headers, timeout=30) as live,
        httpx.AsyncClient(timeout=30) as browser,
    ):
        say("1. connect: ask the service for LinkedIn's authorization URL")
        start = expect(
            await dry.post(
                "/v1/connections/oauth/start", json={"returnUrl": dry_run_url + "/docs"}
            ),
            200,
            "start",
        )
        say(f"   open {start['authorizationUrl'][:90]}...")
        callback = await submit_consent(browser, start["authorizationUrl"], approve=True)
        say("   approved on the sandbox's consent page; LinkedIn redirects to our callback")
        finished = await browser.get(callback, follow_redirects=False)
        if finished.status_code != 303 or "linkedin_ads=connected" not in finished.headers.get(
            "location", ""
        ):
            raise DemoError(
                f"callback failed: {finished.status_code} {finished.headers.get('location')}"
            )
        say(f"   connected; the browser goes back to {finished.headers['location']}")

        say("2. list ad accounts captured from /adAccounts?q=search")
        accounts = expect(await dry.get("/v1/ad-accounts"), 200, "list accounts")
        for account in accounts:
            say(
                f"   {account['id']:>10}  {account['currency']}  {account['status']:<8} "
                f"{'test ' if account['test'] else ''}{account['name']}"
            )
        usd = next(a for a in accounts if a["currency"] == "USD" and a["status"] == "ACTIVE")
        path = f"/v1/ad-accounts/{usd['id']}/campaigns"
        start_time = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        end_time = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        body = {
            "name": "Demo Q1 acquisition",
            "status": "PAUSED",
            "startTime": start_time,
            "endTime": end_time,
            "lifetimeBudget": "2500.00",
        }

        say("3. create a campaign in dry-run mode (nothing reaches LinkedIn)")
        dry_created = expect(
            await dry.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex}),
            201,
            "dry-run create",
        )
        say(f"   id {dry_created['id']}  dryRun={str(dry_created['dryRun']).lower()}")

        say("4. live mode: create, rename, pause, resume, archive")
        created = expect(
            await live.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex}),
            201,
            "live create",
        )
        campaign = f"{path}/{created['id']}"
        say(
            f"   created {created['urn']} status={created['status']} "
            f"dryRun={str(created['dryRun']).lower()}"
        )
        renamed = expect(
            await live.patch(campaign, json={"name": "Demo Q1 acquisition (renamed)"}),
            200,
            "rename",
        )
        say(f"   renamed to {renamed['name']!r}")
        for action, status in (
            ("resume", "ACTIVE"),
            ("pause", "PAUSED"),
            ("resume", "ACTIVE"),
            ("archive", "ARCHIVED"),
        ):
            changed = expect(await live.post(f"{campaign}/{action}"), 200, action)
            if changed["status"] != status:
                raise DemoError(f"{action}: status is {changed['status']}, expected {status}")
            say(f"   {action:<8} -> {changed['status']}")
        final = expect(await live.get(campaign), 200, "get")
        say(
            f"5. done: LinkedIn now holds {final['urn']} as {final['status']} "
            f"(version {final['version']})"
        )
        return {"dry_run": dry_created, "live": final, "accounts": accounts}


def run_demo_with_local_stack() -> int:
    """Start embedded servers, the sandbox and two services (dry-run, live); run; stop."""
    from app.cli import start_local_stack, stop_local_stack
    from app.core.embedded import find_free_port

    sandbox_port, dry_port, live_port = find_free_port(), find_free_port(), find_free_port()
    print("Starting embedded servers, the sandbox and the service (dry-run and live) ...")
    # A folder of its own, so the demo can run while `make run` uses `.data/`.
    data_dir = Path(tempfile.mkdtemp(prefix="linkedin-ads-demo-"))
    processes, stoppers, env = start_local_stack(
        service_port=dry_port,
        sandbox_port=sandbox_port,
        live_mode=False,
        extra_env={"LINKEDIN_ADS_SERVICE_API_KEYS": f"demo-workspace={DEMO_API_KEY}"},
        data_dir=data_dir,
        quiet=True,
    )
    import subprocess

    live_env = dict(env, LINKEDIN_ADS_LIVE_MODE="true")
    live = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(live_port),
            "--log-level",
            "WARNING",
        ],
        env=live_env,
    )
    processes.append(live)
    try:
        from app.cli import wait_for_http

        wait_for_http(f"http://127.0.0.1:{live_port}/health", 60)
        asyncio.run(run_demo(f"http://127.0.0.1:{dry_port}", f"http://127.0.0.1:{live_port}"))
    except (DemoError, httpx.HTTPError, RuntimeError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    finally:
        stop_local_stack(processes, stoppers)
        shutil.rmtree(data_dir, ignore_errors=True)
    print("demo completed")
    return 0
