"""Fault injection through /_sandbox/faults over a real socket."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import rest_headers


def group_body(account: int, now_ms: int, name: str) -> dict[str, Any]:
    return {
        "account": f"urn:li:sponsoredAccount:{account}",
        "name": name,
        "status": "DRAFT",
        "runSchedule": {"start": now_ms + 3_600_000},
    }


async def group_names(sandbox: httpx.AsyncClient) -> list[str]:
    state = (await sandbox.get("/_sandbox/state")).json()
    return [group["name"] for group in state["campaign_groups"]]


async def add_fault(sandbox: httpx.AsyncClient, rule: dict[str, Any]) -> None:
    response = await sandbox.post("/_sandbox/faults", json=[rule])
    assert response.status_code == 200, response.text


async def test_drop_after_commit(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    await add_fault(
        sandbox,
        {
            "match": {"method": "POST", "path_regex": "adCampaignGroups$"},
            "drop": {"when": "after_commit"},
        },
    )
    with pytest.raises(httpx.TransportError):
        await api.post(
            f"/rest/adAccounts/{account}/adCampaignGroups",
            json=group_body(account, seeded["now_ms"], "Dropped after"),
        )
    assert "Dropped after" in await group_names(sandbox)


async def test_drop_before_commit(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    await add_fault(
        sandbox,
        {
            "match": {"method": "POST", "path_regex": "adCampaignGroups$"},
            "drop": {"when": "before_commit"},
        },
    )
    with pytest.raises(httpx.TransportError):
        await api.post(
            f"/rest/adAccounts/{account}/adCampaignGroups",
            json=group_body(account, seeded["now_ms"], "Dropped before"),
        )
    assert "Dropped before" not in await group_names(sandbox)
    log = (await sandbox.get("/_sandbox/requests", params={"method": "POST"})).json()
    assert log["requests"][-1]["dropped"] is True


async def test_drop_times_once(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    await add_fault(
        sandbox,
        {
            "match": {"path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "before_commit"},
        },
    )
    path = f"/rest/adAccounts/{account}/adCampaignGroups"
    with pytest.raises(httpx.TransportError):
        await api.post(path, json=group_body(account, seeded["now_ms"], "Retry"))
    retried = await api.post(path, json=group_body(account, seeded["now_ms"], "Retry"))
    assert retried.status_code == 201
    assert (await group_names(sandbox)).count("Retry") == 1


async def test_status_503(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    await add_fault(sandbox, {"match": {"path_regex": "^/rest/adAccounts$"}, "status": 503})
    response = await api.get("/rest/adAccounts?q=search")
    assert response.status_code == 503
    assert response.json()["status"] == 503
    assert response.headers["x-li-uuid"]


async def test_after_skips(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    await add_fault(
        sandbox, {"match": {"path_regex": "adAccounts", "after": 2, "times": 1}, "status": 500}
    )
    statuses = [(await api.get("/rest/adAccounts?q=search")).status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("short", "Resource level throttle limit for calls to this resource is reached."),
        ("daily", "DAY limit"),
        ("analytics_volume", "45 million metric values"),
    ],
)
async def test_throttle(
    sandbox: httpx.AsyncClient, api: httpx.AsyncClient, kind: str, fragment: str
) -> None:
    await add_fault(sandbox, {"match": {"path_regex": "adAccounts"}, "throttle": {"kind": kind}})
    response = await api.get("/rest/adAccounts?q=search")
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == 429
    assert body["serviceErrorCode"] == 101
    assert fragment in body["message"]
    assert "retry-after" not in response.headers


async def test_latency(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    await add_fault(sandbox, {"match": {"path_regex": "adAccounts"}, "latency_ms": 300})
    started = time.monotonic()
    response = await api.get("/rest/adAccounts?q=search")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_revoke_token(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    await add_fault(
        sandbox, {"match": {"path_regex": "adAccounts", "times": 1}, "revoke_token": True}
    )
    first = await api.get("/rest/adAccounts?q=search")
    second = await api.get("/rest/adAccounts?q=search")
    assert first.status_code == 401
    assert second.status_code == 401


async def test_sunset_version(sandbox: httpx.AsyncClient, token: str) -> None:
    await add_fault(sandbox, {"match": {"path_regex": "adAccounts"}, "sunset_version": True})
    response = await sandbox.get("/rest/adAccounts?q=search", headers=rest_headers(token))
    assert response.status_code == 426
    assert response.json()["message"] == "Requested version 20260101 is not active"


async def test_faults_cleared(sandbox: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    await add_fault(sandbox, {"match": {"path_regex": "adAccounts"}, "status": 502})
    assert (await api.get("/rest/adAccounts?q=search")).status_code == 502
    listed = (await sandbox.get("/_sandbox/faults")).json()["faults"]
    assert listed[0]["fired"] == 1
    assert (await sandbox.delete("/_sandbox/faults")).status_code == 204
    assert (await api.get("/rest/adAccounts?q=search")).status_code == 200


async def test_fault_rule_invalid(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.post(
        "/_sandbox/faults", json=[{"match": {}, "status": 503, "latency_ms": 5}]
    )
    assert response.status_code == 422
    response = await sandbox.post("/_sandbox/faults", json=[{"status": 404}])
    assert response.status_code == 422


async def test_fault_adds_headers(sandbox_server) -> None:
    import httpx as client_library

    async with client_library.AsyncClient(base_url=sandbox_server.url, timeout=5) as admin:
        await admin.post("/_sandbox/reset")
        await admin.post(
            "/_sandbox/faults",
            json=[
                {
                    "match": {"path_regex": "/rest/adAccounts"},
                    "throttle": {"kind": "short"},
                    "headers": {"Retry-After": "3"},
                }
            ],
        )
        response = await admin.get(
            "/rest/adAccounts?q=search", headers={"LinkedIn-Version": "202402"}
        )
        await admin.post("/_sandbox/reset")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_hang_drop_times_out(sandbox_server) -> None:
    import httpx as client_library

    async with client_library.AsyncClient(base_url=sandbox_server.url, timeout=5) as admin:
        await admin.post("/_sandbox/reset")
        await admin.post(
            "/_sandbox/faults",
            json=[
                {
                    "match": {"path_regex": "/rest/adAccounts"},
                    "drop": {"when": "before_commit", "mode": "hang", "hang_seconds": 2},
                }
            ],
        )
        async with client_library.AsyncClient(base_url=sandbox_server.url, timeout=0.5) as short:
            try:
                await short.get("/rest/adAccounts?q=search", headers={"LinkedIn-Version": "202402"})
                outcome = "answered"
            except client_library.ReadTimeout:
                outcome = "timed out"
        await admin.post("/_sandbox/reset")
    assert outcome == "timed out"
