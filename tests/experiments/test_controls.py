"""Runner controls: activate, pause, rotate and conclude, each one idempotent request."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Service
from tests.experiments.helpers import account_with, create, experiment_body, variant


async def sandbox_statuses(sandbox: httpx.AsyncClient, ad_sets: list[str]) -> list[str]:
    state = (await sandbox.get("/_sandbox/state")).json()
    statuses = {str(campaign["id"]): campaign["status"] for campaign in state["campaigns"]}
    return [statuses[ad_set] for ad_set in ad_sets]


async def status_posts(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    log = (await sandbox.get("/_sandbox/requests", params={"method": "POST"})).json()
    return [entry for entry in log["requests"] if "/adCampaigns/" in entry["path"]]


async def variant_events(service: Service) -> list[dict[str, Any]]:
    page = await service.api.get("/v1/events", params={"type": "variant_status_changed"})
    return list(page.json()["items"])


async def test_live_rotation_and_conclusion(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    body = experiment_body(variants=[variant("A"), variant("B"), variant("C")])
    experiment = await create(live_service, account, body)
    ad_sets = [v["adSetId"] for v in experiment["variants"]]
    path = f"/v1/ad-accounts/{account}/experiments/{experiment['id']}"
    assert await sandbox_statuses(sandbox, ad_sets) == ["ACTIVE", "PAUSED", "PAUSED"]
    # Every ad set is created PAUSED; the control is activated once all of them exist.
    creation_posts = [entry["path"].rsplit("/", 1)[1] for entry in await status_posts(sandbox)]
    assert creation_posts == [ad_sets[0]]

    headers = {"Idempotency-Key": "rotate-to-b"}
    rotated = await live_service.api.post(f"{path}/rotate", json={"variant": "B"}, headers=headers)
    assert rotated.status_code == 200, rotated.text
    assert [v["status"] for v in rotated.json()["variants"]] == ["PAUSED", "ACTIVE", "PAUSED"]
    assert await sandbox_statuses(sandbox, ad_sets) == ["PAUSED", "ACTIVE", "PAUSED"]
    posts = (await status_posts(sandbox))[1:]
    # Every planned status is sent (LinkedIn may have changed one since), pauses before the
    # activation, so two variants never serve together.
    assert [entry["path"].rsplit("/", 1)[1] for entry in posts] == [
        ad_sets[0],
        ad_sets[2],
        ad_sets[1],
    ]

    replayed = await live_service.api.post(f"{path}/rotate", json={"variant": "B"}, headers=headers)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == rotated.json()
    assert len(await status_posts(sandbox)) == 4

    events = await variant_events(live_service)
    assert [(e["data"]["variant"], e["data"]["from"], e["data"]["to"]) for e in events] == [
        ("A", "ACTIVE", "PAUSED"),
        ("B", "PAUSED", "ACTIVE"),
    ]
    assert {e["entityType"] for e in events} == {"experiment"}
    assert {e["entityId"] for e in events} == {experiment["id"]}

    activated = await live_service.api.post(f"{path}/activate", json={"variants": ["A", "C"]})
    assert activated.status_code == 200, activated.text
    assert await sandbox_statuses(sandbox, ad_sets) == ["ACTIVE", "ACTIVE", "ACTIVE"]
    paused = await live_service.api.post(f"{path}/pause", json={"variants": ["C"]})
    assert [v["status"] for v in paused.json()["variants"]] == ["ACTIVE", "ACTIVE", "PAUSED"]

    concluded = await live_service.api.post(
        f"{path}/conclude", json={"winner": "B", "others": "ARCHIVED"}
    )
    assert concluded.status_code == 200, concluded.text
    assert concluded.json()["status"] == "concluded"
    assert concluded.json()["winner"] == "B"
    assert concluded.json()["concludedAt"] is not None
    assert await sandbox_statuses(sandbox, ad_sets) == ["ARCHIVED", "ACTIVE", "ARCHIVED"]
    assert len(await variant_events(live_service)) == 2 + 2 + 1 + 2
    concluded_events = await live_service.api.get(
        "/v1/events", params={"type": "experiment_concluded"}
    )
    assert [e["data"] for e in concluded_events.json()["items"]] == [{"winner": "B"}]

    late = await live_service.api.post(f"{path}/rotate", json={"variant": "A"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "experiment_state_conflict"
    assert late.json()["error"]["reason"] == "concluded"
    assert late.json()["error"]["retryable"] is False


async def test_dry_run_controls_and_errors(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    experiment = await create(service, account)
    path = f"/v1/ad-accounts/{account}/experiments/{experiment['id']}"

    everything = await service.api.post(f"{path}/activate")
    assert everything.status_code == 200, everything.text
    assert [v["status"] for v in everything.json()["variants"]] == ["ACTIVE", "ACTIVE"]
    ad_set = await service.api.get(
        f"/v1/ad-accounts/{account}/ad-sets/{experiment['variants'][1]['adSetId']}"
    )
    assert ad_set.json()["status"] == "ACTIVE"
    assert ad_set.json()["dryRun"] is True
    nothing = await service.api.post(f"{path}/pause")
    assert [v["status"] for v in nothing.json()["variants"]] == ["PAUSED", "PAUSED"]

    unknown = await service.api.post(f"{path}/rotate", json={"variant": "Z"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["reason"] == "unknown_variant"
    assert unknown.json()["error"]["fields"][0]["field"] == "variant"
    undecided = await service.api.post(f"{path}/conclude", json={})
    assert undecided.status_code == 409
    assert undecided.json()["error"]["reason"] == "no_winner"
    wrong = await service.api.post(f"{path}/conclude", json={"winner": "Z"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"][0]["field"] == "winner"
    shown = await service.api.get(path)
    assert shown.json()["status"] == "running"
    assert shown.json()["winner"] is None
    missing = await service.api.post(
        f"/v1/ad-accounts/{account}/experiments/00000000-0000-0000-0000-000000000000/pause"
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_failed_create_serves_nothing(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    """A create that fails part way leaves every made ad set PAUSED, the control included."""
    await live_service.connect()
    account = await account_with(live_service)
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"method": "POST", "path_regex": "/creatives$", "after": 1}, "status": 500},
    )
    failed = await live_service.api.post(
        f"/v1/ad-accounts/{account}/experiments", json=experiment_body("Stops half way")
    )
    assert failed.status_code == 503, failed.text
    state = (await sandbox.get("/_sandbox/state")).json()
    made = [c for c in state["campaigns"] if c["name"].startswith("Stops half way")]
    assert len(made) == 2
    assert {c["status"] for c in made} == {"PAUSED"}


async def test_concurrent_conclusions_serialised(live_service: Service) -> None:
    import asyncio

    await live_service.connect()
    account = await account_with(live_service)
    experiment = await create(live_service, account, experiment_body())
    path = f"/v1/ad-accounts/{account}/experiments/{experiment['id']}/conclude"
    first, second = await asyncio.gather(
        live_service.api.post(
            path,
            json={"winner": "A", "others": "ARCHIVED"},
            headers={"Idempotency-Key": "conclude-a"},
        ),
        live_service.api.post(
            path,
            json={"winner": "B", "others": "ARCHIVED"},
            headers={"Idempotency-Key": "conclude-b"},
        ),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert loser.json()["error"]["reason"] in ("control_in_progress", "concluded")
    winner = first if first.status_code == 200 else second
    concluded = winner.json()
    active = [v["key"] for v in concluded["variants"] if v["status"] == "ACTIVE"]
    assert active == [concluded["winner"]]


async def test_activate_repairs_outside_change(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    """The control paused in LinkedIn itself: activate must send the change, not trust our copy."""
    await live_service.connect()
    account = await account_with(live_service)
    experiment = await create(live_service, account, experiment_body())
    ad_sets = [v["adSetId"] for v in experiment["variants"]]
    await sandbox.post(
        "/_sandbox/holds",
        json={"urn": f"urn:li:sponsoredCampaign:{ad_sets[0]}", "status": "PAUSED"},
    )
    assert await sandbox_statuses(sandbox, ad_sets) == ["PAUSED", "PAUSED"]
    path = f"/v1/ad-accounts/{account}/experiments/{experiment['id']}/activate"
    response = await live_service.api.post(path, json={"variants": ["A"]})
    assert response.status_code == 200, response.text
    assert await sandbox_statuses(sandbox, ad_sets) == ["ACTIVE", "PAUSED"]
