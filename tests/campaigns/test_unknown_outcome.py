"""Creates whose outcome is unknown: a timeout after LinkedIn committed, and a retry later."""

from __future__ import annotations

import httpx

from tests.campaigns.test_idempotency import (
    connect_usd_account,
    create_body,
    group_posts,
    groups_named,
)
from tests.conftest import Service, running_service


async def test_timeout_after_commit_one_group(
    service_settings, db_engine, redis, sandbox: httpx.AsyncClient
) -> None:
    settings = service_settings.model_copy(
        update={"linkedin_ads_live_mode": True, "linkedin_ads_http_timeout_seconds": 1.0}
    )
    async with running_service(settings) as service:
        account_id = await connect_usd_account(service)
        await sandbox.post(
            "/_sandbox/faults",
            json={
                "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
                "drop": {"when": "after_commit", "mode": "hang", "hang_seconds": 5},
            },
        )
        created = await service.api.post(
            f"/v1/ad-accounts/{account_id}/campaigns", json=create_body("Timed out")
        )
    assert created.status_code == 201, created.text
    groups = await groups_named(sandbox, "Timed out")
    assert [str(group["id"]) for group in groups] == [created.json()["id"]]
    assert len(await group_posts(sandbox)) == 1


async def test_retry_after_lost_answer_resumes(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    """Every attempt in the first request is lost; the caller's retry finds the group."""
    account_id = await connect_usd_account(live_service)
    await sandbox.post(
        "/_sandbox/faults",
        json=[
            {
                "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
                "drop": {"when": "after_commit"},
            },
            {
                "match": {"method": "GET", "path_regex": "adCampaignGroups$", "times": 10},
                "status": 503,
            },
        ],
    )
    path = f"/v1/ad-accounts/{account_id}/campaigns"
    headers = {"Idempotency-Key": "lost-answer"}
    body = create_body("Lost")
    first = await live_service.api.post(path, json=body, headers=headers)
    assert first.status_code == 503, first.text
    await sandbox.delete("/_sandbox/faults")

    retried = await live_service.api.post(path, json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    groups = await groups_named(sandbox, "Lost")
    assert [str(group["id"]) for group in groups] == [retried.json()["id"]]
    assert len(await group_posts(sandbox)) == 1


async def test_lookalike_of_earlier_create_not_reused(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    """A second, distinct create after a 5xx must not be answered with the first one's group."""
    account_id = await connect_usd_account(live_service)
    path = f"/v1/ad-accounts/{account_id}/campaigns"
    body = create_body("Twin")
    first = await live_service.api.post(path, json=body, headers={"Idempotency-Key": "twin-1"})
    assert first.status_code == 201, first.text
    await sandbox.post(
        "/_sandbox/faults",
        json={
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "status": 503,
        },
    )

    second = await live_service.api.post(path, json=body, headers={"Idempotency-Key": "twin-2"})

    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    groups = await groups_named(sandbox, "Twin")
    assert sorted(str(group["id"]) for group in groups) == sorted(
        [first.json()["id"], second.json()["id"]]
    )


async def test_other_workspace_group_not_reused(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    account_id = await connect_usd_account(live_service)
    path = f"/v1/ad-accounts/{account_id}/campaigns"
    body = create_body("Shared name")
    first = await live_service.api.post(path, json=body)
    assert first.status_code == 201, first.text
    await sandbox.post(
        "/_sandbox/faults",
        json={
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "before_commit"},
        },
    )

    second = await live_service.api.post(path, json=body)

    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert len(await groups_named(sandbox, "Shared name")) == 2
