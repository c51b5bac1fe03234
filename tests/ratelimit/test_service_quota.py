"""The limiter in front of every LinkedIn call, seen through the service's API."""

from pathlib import Path

import httpx

from app.core.embedded import EmbeddedValkey
from tests.conftest import make_settings, running_service


async def sandbox_calls(sandbox: httpx.AsyncClient, prefix: str = "/rest") -> int:
    response = await sandbox.get("/_sandbox/requests/count", params={"path_prefix": prefix})
    return int(response.json()["count"])


async def usd_account(api: httpx.AsyncClient) -> str:
    accounts = (await api.get("/v1/ad-accounts")).json()
    return next(
        a["id"]
        for a in accounts
        if a["currency"] == "USD" and a["status"] == "ACTIVE" and not a["test"]
    )


async def test_over_limit_is_refused_before_linkedin(
    database_url: str, redis_url: str, sandbox_server, sandbox: httpx.AsyncClient, db_engine, redis
) -> None:
    settings = make_settings(
        database_url,
        redis_url,
        sandbox_server.url,
        linkedin_ads_live_mode=True,
        linkedin_ads_rate_limit_windows={"minute": {"limit": 3, "seconds": 60}},
    )
    async with running_service(settings) as service:
        await service.connect()
        account = await usd_account(service.api)
        path = f"/v1/ad-accounts/{account}/campaigns"
        before = await sandbox_calls(sandbox, f"/rest/adAccounts/{account}")
        statuses = [(await service.api.get(path)).status_code for _ in range(3)]
        refused = await service.api.get(path)
        after = await sandbox_calls(sandbox, f"/rest/adAccounts/{account}")
        quota = (await service.api.get(f"/v1/ad-accounts/{account}/quota")).json()

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["reason"] == "rate_limited"
    assert error["operation"] == "list_campaign_groups"
    assert 0 < error["retryAfterSeconds"] <= 60
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert after - before == 3
    window = quota["windows"][0]
    assert window["used"] == 3
    assert window["remaining"] == 0


async def test_redis_down_refuses_and_recovers(
    database_url: str, sandbox_server, sandbox: httpx.AsyncClient, db_engine, tmp_path: Path
) -> None:
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    port = valkey.port
    settings = make_settings(
        database_url, valkey.url, sandbox_server.url, linkedin_ads_live_mode=True
    )
    try:
        async with running_service(settings) as service:
            await service.connect()
            account = await usd_account(service.api)
            path = f"/v1/ad-accounts/{account}/campaigns"
            assert (await service.api.get(path)).status_code == 200

            valkey.kill()
            before = await sandbox_calls(sandbox)
            refused = [await service.api.get(path) for _ in range(5)]
            dry_run_create = await service.api.post(
                path, json={"name": "x", "startTime": "2031-01-01T00:00:00Z"}, headers={}
            )
            health = await service.api.get("/health")
            after = await sandbox_calls(sandbox)

            valkey = EmbeddedValkey(tmp_path / "valkey", port=port)
            valkey.start()
            recovered = await service.api.get(path)
    finally:
        valkey.stop()

    assert [item.status_code for item in refused] == [429] * 5
    assert {item.json()["error"]["reason"] for item in refused} == {"limiter_unavailable"}
    assert after == before
    assert health.status_code == 503
    assert health.json()["down"] == ["redis"]
    # Live mode writes go upstream, so they too are refused while the limiter cannot answer.
    assert dry_run_create.status_code == 429
    assert recovered.status_code == 200


async def test_dry_run_write_skips_limiter(
    database_url: str, sandbox_server, sandbox: httpx.AsyncClient, db_engine, tmp_path: Path
) -> None:
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    settings = make_settings(database_url, valkey.url, sandbox_server.url)
    try:
        async with running_service(settings) as service:
            await service.connect()
            account = await usd_account(service.api)
            valkey.kill()
            created = await service.api.post(
                f"/v1/ad-accounts/{account}/campaigns",
                json={"name": "Dry run while Redis is down", "startTime": "2031-01-01T00:00:00Z"},
            )
    finally:
        valkey.stop()
    assert created.status_code == 201, created.text
    assert created.json()["dryRun"] is True
