"""Ad-set creates after an unknown outcome must not take another request's ad set."""

import httpx

from tests.ad_sets.helpers import account_with, ad_set_body, create_campaign
from tests.conftest import Service


async def test_lookalike_ad_set_not_reused(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    campaign = await create_campaign(live_service, account)
    path = f"/v1/ad-accounts/{account}/ad-sets"
    body = ad_set_body(campaign, name="TwinSet")
    first = await live_service.api.post(path, json=body, headers={"Idempotency-Key": "set-1"})
    assert first.status_code == 201, first.text
    await sandbox.post(
        "/_sandbox/faults",
        json={"match": {"method": "POST", "path_regex": "adCampaigns$", "times": 1}, "status": 503},
    )

    second = await live_service.api.post(path, json=body, headers={"Idempotency-Key": "set-2"})

    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    state = (await sandbox.get("/_sandbox/state")).json()
    twins = [item for item in state["campaigns"] if item.get("name") == "TwinSet"]
    assert len(twins) == 2
