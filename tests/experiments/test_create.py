"""Creating experiments: dry run, live, limits, and resuming a create that failed part way."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Service
from tests.experiments.helpers import (
    FRANCE,
    GERMANY,
    account_with,
    create,
    experiment_body,
    sandbox_counts,
    variant,
)


async def test_dry_run_create_stays_local(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    account = await account_with(service)
    before = await sandbox_counts(sandbox)
    body = await create(service, account)

    assert body["dryRun"] is True
    assert body["status"] == "running"
    assert body["campaignCreated"] is True
    assert body["campaignId"].startswith("dryrun-")
    assert [v["key"] for v in body["variants"]] == ["A", "B"]
    assert [v["control"] for v in body["variants"]] == [True, False]
    assert [v["status"] for v in body["variants"]] == ["ACTIVE", "PAUSED"]
    assert all(v["adSetId"].startswith("dryrun-") for v in body["variants"])
    assert all(v["state"] == "created" for v in body["variants"])
    assert body["variants"][1]["targeting"]["include"] == {"locations": [GERMANY]}
    assert [ad["state"] for v in body["variants"] for ad in v["ads"]] == ["created"] * 2
    assert await sandbox_counts(sandbox) == before

    ad_set = await service.api.get(
        f"/v1/ad-accounts/{account}/ad-sets/{body['variants'][1]['adSetId']}"
    )
    assert ad_set.json()["status"] == "PAUSED"
    assert ad_set.json()["campaignId"] == body["campaignId"]
    ad = await service.api.get(
        f"/v1/ad-accounts/{account}/ads/{body['variants'][0]['ads'][0]['adId']}"
    )
    assert ad.json()["status"] == "ACTIVE"
    assert ad.json()["adSetId"] == body["variants"][0]["adSetId"]

    listed = await service.api.get(f"/v1/ad-accounts/{account}/experiments")
    assert [item["id"] for item in listed.json()] == [body["id"]]
    shown = await service.api.get(f"/v1/ad-accounts/{account}/experiments/{body['id']}")
    assert shown.json() == body
    hidden = await service.other.get(f"/v1/ad-accounts/{account}/experiments/{body['id']}")
    assert hidden.status_code == 404


async def test_marked_control_and_existing_campaign(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    first = await create(service, account, key="first")
    body = experiment_body(
        "Second test",
        variants=[variant("A"), variant("B", GERMANY, control=True), variant("C", FRANCE)],
        campaign=None,
        campaignId=first["campaignId"],
        primaryMetric="conversion_rate",
    )
    second = await create(service, account, body)
    assert second["campaignId"] == first["campaignId"]
    assert second["campaignCreated"] is False
    assert second["primaryMetric"] == "conversion_rate"
    assert [v["status"] for v in second["variants"]] == ["PAUSED", "ACTIVE", "PAUSED"]
    assert second["variants"][0]["name"] == "Second test [A]"


async def test_create_rejects_bad_shapes(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    path = f"/v1/ad-accounts/{account}/experiments"
    cases = {
        "one variant": experiment_body(variants=[variant("A")]),
        "two controls": experiment_body(
            variants=[variant("A", control=True), variant("B", control=True)]
        ),
        "same key": experiment_body(variants=[variant("A"), variant("A")]),
        "no parent": experiment_body(campaign=None),
        "bad key": experiment_body(variants=[variant("A"), variant("B C")]),
        "eleven variants": experiment_body(variants=[variant(f"V{i}") for i in range(11)]),
        "sixteen ads": experiment_body(variants=[variant("A"), variant("B", ads=16)]),
    }
    for case, body in cases.items():
        response = await service.api.post(path, json=body)
        assert response.status_code == 422, case
        assert response.json()["error"]["code"] == "invalid_input", case
    limited = await service.api.post(path, json=cases["sixteen ads"])
    assert limited.json()["error"]["fields"][0]["field"] == "variants.1.ads"
    assert "15 active ads" in limited.json()["error"]["message"]
    missing = await service.api.post(path, json=experiment_body(campaign=None, campaignId="404"))
    assert missing.status_code == 404
    assert (await service.api.get(path)).json() == []


async def test_live_create_reaches_sandbox(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    before = await sandbox_counts(sandbox)
    request = experiment_body()
    body = await create(live_service, account, request, key="live-create")
    assert body["dryRun"] is False
    assert body["campaignId"].isdigit()
    assert all(v["adSetId"].isdigit() for v in body["variants"])

    after = await sandbox_counts(sandbox)
    assert after["campaign_groups"] == before["campaign_groups"] + 1
    assert after["campaigns"] == before["campaigns"] + 2
    assert after["creatives"] == before["creatives"] + 2
    state = (await sandbox.get("/_sandbox/state")).json()
    statuses = {str(c["id"]): c["status"] for c in state["campaigns"]}
    assert [statuses[v["adSetId"]] for v in body["variants"]] == ["ACTIVE", "PAUSED"]
    groups = {str(g["id"]): g["status"] for g in state["campaign_groups"]}
    assert groups[body["campaignId"]] == "ACTIVE"

    path = f"/v1/ad-accounts/{account}/experiments"
    headers = {"Idempotency-Key": "live-create"}
    replayed = await live_service.api.post(path, json=request, headers=headers)
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == body
    reused = await live_service.api.post(path, json=experiment_body("Other"), headers=headers)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await sandbox_counts(sandbox) == after


async def test_creative_failure_resumes(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    """The second creative fails on every attempt; the retry makes only what is missing."""
    await live_service.connect()
    account = await account_with(live_service)
    before = await sandbox_counts(sandbox)
    await sandbox.post(
        "/_sandbox/faults",
        json={
            "match": {"method": "POST", "path_regex": "/creatives$", "after": 1, "times": 4},
            "status": 500,
        },
    )
    path = f"/v1/ad-accounts/{account}/experiments"
    headers = {"Idempotency-Key": "half-way"}
    request = experiment_body("Half way")

    failed = await live_service.api.post(path, json=request, headers=headers)
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "upstream_unavailable"
    assert failed.json()["error"]["retryable"] is True
    partial = await sandbox_counts(sandbox)
    assert partial["campaign_groups"] == before["campaign_groups"] + 1
    assert partial["campaigns"] == before["campaigns"] + 2
    assert partial["creatives"] == before["creatives"] + 1

    record = (await live_service.api.get(path)).json()
    assert len(record) == 1
    assert record[0]["status"] == "failed"
    assert record[0]["lastError"]["code"] == "upstream_unavailable"
    assert record[0]["campaignState"] == "created"
    assert [v["state"] for v in record[0]["variants"]] == ["created", "created"]
    assert [ad["state"] for v in record[0]["variants"] for ad in v["ads"]] == ["created", "sending"]
    rotate = await live_service.api.post(f"{path}/{record[0]['id']}/rotate", json={"variant": "B"})
    assert rotate.status_code == 409
    assert rotate.json()["error"]["reason"] == "creation_incomplete"

    resumed = await live_service.api.post(path, json=request, headers=headers)
    assert resumed.status_code == 201, resumed.text
    body = resumed.json()
    assert body["id"] == record[0]["id"]
    assert body["status"] == "running"
    assert body["lastError"] is None
    assert body["campaignId"] == record[0]["campaignId"]
    assert [v["adSetId"] for v in body["variants"]] == [v["adSetId"] for v in record[0]["variants"]]
    after = await sandbox_counts(sandbox)
    assert after["campaign_groups"] == before["campaign_groups"] + 1
    assert after["campaigns"] == before["campaigns"] + 2
    assert after["creatives"] == before["creatives"] + 2
    posts = (await sandbox.get("/_sandbox/requests", params={"method": "POST"})).json()
    group_posts = [e for e in posts["requests"] if e["path"].endswith("/adCampaignGroups")]
    assert len(group_posts) == 1


async def test_lost_ad_set_found_on_resume(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    """The treatment's ad set is created, its response is lost and the search for it fails.
    The retry finds the ad set in LinkedIn instead of creating a second one."""
    await live_service.connect()
    account = await account_with(live_service)
    before = await sandbox_counts(sandbox)
    await sandbox.post(
        "/_sandbox/faults",
        json=[
            {
                "match": {"method": "POST", "path_regex": "/adCampaigns$", "after": 1, "times": 1},
                "drop": {"when": "after_commit"},
            },
            {"match": {"method": "GET", "path_regex": "/adCampaigns$", "times": 4}, "status": 500},
        ],
    )
    path = f"/v1/ad-accounts/{account}/experiments"
    headers = {"Idempotency-Key": "lost-answer"}
    request = experiment_body("Lost answer")

    failed = await live_service.api.post(path, json=request, headers=headers)
    assert failed.status_code == 503, failed.text
    record = (await live_service.api.get(path)).json()[0]
    assert [v["state"] for v in record["variants"]] == ["created", "sending"]
    assert (await sandbox_counts(sandbox))["campaigns"] == before["campaigns"] + 2
    # With the ad set service's own record of the attempt gone, only the experiment's
    # `sending` state makes the retry look in LinkedIn first.
    async with live_service.app.state.session_factory() as session:
        deleted = await session.execute(
            text("DELETE FROM idempotency_records WHERE key = :key"),
            {"key": f"experiment:{record['id']}:variant:B:ad_set"},
        )
        await session.commit()
    assert deleted.rowcount == 1  # type: ignore[attr-defined]

    resumed = await live_service.api.post(path, json=request, headers=headers)
    assert resumed.status_code == 201, resumed.text
    after = await sandbox_counts(sandbox)
    assert after["campaigns"] == before["campaigns"] + 2
    assert after["creatives"] == before["creatives"] + 2
    state = (await sandbox.get("/_sandbox/state")).json()
    named = [c for c in state["campaigns"] if c["name"] == "Lost answer [B]"]
    assert [str(c["id"]) for c in named] == [resumed.json()["variants"][1]["adSetId"]]
