"""The exact requests the service's own code paths send to LinkedIn, as the sandbox logged them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Service


async def rest_log(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await sandbox.get("/_sandbox/requests", params={"path_prefix": "/rest"})
    return list(response.json()["requests"])


async def test_service_queries(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    await live_service.connect()
    probe = (await rest_log(sandbox))[-1]
    assert probe["path"] == "/rest/adAccounts"
    assert probe["query"] == "q=search&pageSize=1000"
    assert probe["headers"]["x-restli-method"] == "FINDER"
    assert probe["headers"]["linkedin-version"] == "202402"
    assert probe["headers"]["x-restli-protocol-version"] == "2.0.0"

    accounts = (await live_service.api.get("/v1/ad-accounts")).json()
    account_id = next(int(item["id"]) for item in accounts if item["currency"] == "USD")
    listed = await live_service.api.get(
        f"/v1/ad-accounts/{account_id}/campaigns",
        params=[("status", "ACTIVE"), ("status", "PAUSED")],
    )
    assert listed.status_code == 200, listed.text
    search = (await rest_log(sandbox))[-1]
    assert search["path"] == f"/rest/adAccounts/{account_id}/adCampaignGroups"
    assert search["query"] == (
        "q=search&sortOrder=ASCENDING&search=(status:(values:List(ACTIVE,PAUSED)))&pageSize=1000"
    )

    # A create whose response is lost makes the service search by name before creating again.
    await sandbox.post(
        "/_sandbox/faults",
        json={
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "after_commit"},
        },
    )
    start = datetime.now(UTC) + timedelta(hours=1)
    created = await live_service.api.post(
        f"/v1/ad-accounts/{account_id}/campaigns",
        json={"name": "Spring, 'EU' (test)", "startTime": start.isoformat()},
    )
    assert created.status_code == 201, created.text
    log = await rest_log(sandbox)
    post = next(entry for entry in log if entry["method"] == "POST")
    assert post["headers"]["x-restli-method"] == "CREATE"
    assert post["headers"]["idempotency-key"]
    assert post["body"]["name"] == "Spring, 'EU' (test)"
    lookup = log[log.index(post) + 1]
    assert lookup["query"] == (
        "q=search&search=(name:(values:List(Spring%2C%20%27EU%27%20%28test%29)))"
        "&sortOrder=DESCENDING&pageSize=100"
    )
    assert lookup["headers"]["x-restli-method"] == "FINDER"
