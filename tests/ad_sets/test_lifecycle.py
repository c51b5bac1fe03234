"""Ad sets (LinkedIn campaigns) through the API, in dry-run and live mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.ad_sets.helpers import (
    GERMANY,
    US,
    account_with,
    ad_set_body,
    create_ad_set,
    create_campaign,
    error_fields,
    header,
    upstream_requests,
)
from tests.conftest import Service


async def test_dry_run_create_stays_local(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    account = await account_with(service)
    campaign = await create_campaign(service, account)
    before = await upstream_requests(sandbox, "/rest/adAccounts", "POST")
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/ad-sets", json=ad_set_body(campaign)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dryRun"] is True
    assert body["id"].startswith("dryrun-")
    assert body["urn"] == f"urn:li:sponsoredCampaign:{body['id']}"
    assert body["campaignId"] == campaign
    assert Decimal(body["dailyBudget"]) == Decimal("50")
    assert Decimal(body["bid"]) == Decimal("5.50")
    assert body["currency"] == "USD"
    assert body["locale"] == "en_US"
    assert body["targeting"]["include"] == {"locations": [US]}
    assert body["targeting"]["exclude"] == {"seniorities": ["urn:li:seniority:1"]}
    assert body["politicalIntent"] == "NOT_POLITICAL"
    assert await upstream_requests(sandbox, "/rest/adAccounts", "POST") == before


async def test_dry_run_under_live_campaign(service: Service) -> None:
    """A dry-run ad set may hang under a real campaign; the parent is read upstream."""
    await service.connect()
    account = await account_with(service)
    response = await service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    default_group = response.json()[0]["id"]
    created = await service.api.post(
        f"/v1/ad-accounts/{account}/ad-sets", json=ad_set_body(default_group)
    )
    assert created.status_code == 201, created.text
    missing = await service.api.post(f"/v1/ad-accounts/{account}/ad-sets", json=ad_set_body("123"))
    assert missing.status_code == 422
    assert error_fields(missing) == ["campaignId"]


async def test_dry_run_lifecycle(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    campaign = await create_campaign(service, account)
    ad_set = await create_ad_set(service, account, campaign)
    path = f"/v1/ad-accounts/{account}/ad-sets/{ad_set}"
    changes = {
        "name": "DE engineers",
        "dailyBudget": "75",
        "targeting": {"include": {"locations": [GERMANY]}},
    }
    changed = await service.api.patch(path, json=changes)
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "DE engineers"
    assert Decimal(changed.json()["dailyBudget"]) == Decimal("75")
    assert changed.json()["targeting"]["include"] == {"locations": [GERMANY]}
    for action, status in (("resume", "ACTIVE"), ("pause", "PAUSED"), ("archive", "ARCHIVED")):
        response = await service.api.post(f"{path}/{action}")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    fetched = await service.api.get(path)
    assert fetched.json()["status"] == "ARCHIVED"
    assert fetched.json()["version"] == "5"
    back_to_draft = await service.api.patch(path, json={"status": "DRAFT"})
    assert back_to_draft.status_code == 422
    assert error_fields(back_to_draft) == ["status"]


async def test_dry_run_rejects_what_linkedin_would(service: Service) -> None:
    await service.connect()
    usd = await account_with(service)
    eur = await account_with(service, "EUR")
    campaign = await create_campaign(service, usd)
    eur_campaign = await create_campaign(service, eur, currency="EUR")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cases = [
        (eur, ad_set_body(eur_campaign), "currency"),
        (usd, ad_set_body(campaign, startTime=past), "startTime"),
        (usd, ad_set_body(campaign, dailyBudget="5"), "dailyBudget"),
        (usd, ad_set_body(campaign, dailyBudget=None, lifetimeBudget="50"), "lifetimeBudget"),
        (usd, ad_set_body(campaign, dailyBudget=None), "dailyBudget"),
        (usd, ad_set_body(campaign, bid="1"), "bid"),
        (usd, ad_set_body(campaign, bid=None), "bid"),
        (usd, ad_set_body(campaign, costType="CPV"), "costType"),
        (usd, ad_set_body(campaign, locale="xx_YY"), "locale"),
        (
            usd,
            ad_set_body(campaign, targeting={"include": {"seniorities": ["urn:li:seniority:3"]}}),
            "targeting.include",
        ),
        (
            usd,
            ad_set_body(
                campaign, targeting={"include": {"locations": [US]}, "exclude": {"locations": [US]}}
            ),
            "targeting.exclude",
        ),
        (usd, ad_set_body(campaign, startTime=soon, endTime=soon), "body"),
    ]
    for account, body, field in cases:
        response = await service.api.post(f"/v1/ad-accounts/{account}/ad-sets", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in error_fields(response), (field, response.json())


async def test_enum_spellings_name_field(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    campaign = await create_campaign(service, account)
    path = f"/v1/ad-accounts/{account}/ad-sets"
    plural = await service.api.post(path, json=ad_set_body(campaign, objective="WEBSITE_VISITS"))
    assert plural.status_code == 422
    assert error_fields(plural) == ["objective"]
    assert "use WEBSITE_VISIT" in plural.json()["error"]["message"]
    wrong = await service.api.post(path, json=ad_set_body(campaign, costType="CPA"))
    assert error_fields(wrong) == ["costType"]
    missing = ad_set_body(campaign)
    del missing["politicalIntent"]
    response = await service.api.post(path, json=missing)
    assert error_fields(response) == ["politicalIntent"]
    snake = ad_set_body(campaign)
    snake["political_intent"] = snake.pop("politicalIntent")
    assert (await service.api.post(path, json=snake)).status_code == 201


async def test_draft_campaign_needs_draft_ad_sets(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    campaign = await create_campaign(service, account, status="DRAFT")
    path = f"/v1/ad-accounts/{account}/ad-sets"
    rejected = await service.api.post(path, json=ad_set_body(campaign, status="ACTIVE"))
    assert rejected.status_code == 422
    assert error_fields(rejected) == ["status"]
    accepted = await service.api.post(path, json=ad_set_body(campaign, status="DRAFT"))
    assert accepted.status_code == 201, accepted.text


async def test_live_lifecycle_reaches_sandbox(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    campaign = await create_campaign(live_service, account)
    path = f"/v1/ad-accounts/{account}/ad-sets"
    request_body = ad_set_body(campaign)
    created = await live_service.api.post(
        path, json=request_body, headers={"Idempotency-Key": "ad-set-1"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["dryRun"] is False
    assert body["id"].isdigit()
    assert body["campaignUrn"] == f"urn:li:sponsoredCampaignGroup:{campaign}"
    assert body["servingStatuses"][0] == "STOPPED"
    assert body["targeting"]["exclude"] == {"seniorities": ["urn:li:seniority:1"]}
    again = await live_service.api.post(
        path, json=request_body, headers={"Idempotency-Key": "ad-set-1"}
    )
    assert again.json()["id"] == body["id"]

    ad_set = f"{path}/{body['id']}"
    changed = await live_service.api.patch(ad_set, json={"bid": "6", "name": "Renamed"})
    assert changed.status_code == 200, changed.text
    assert Decimal(changed.json()["bid"]) == Decimal("6")
    statuses = []
    for action in ("resume", "pause", "archive"):
        response = await live_service.api.post(f"{ad_set}/{action}")
        assert response.status_code == 200, response.text
        statuses.append(response.json()["status"])
    assert statuses == ["ACTIVE", "PAUSED", "ARCHIVED"]

    creates = await upstream_requests(sandbox, f"/rest/adAccounts/{account}/adCampaigns", "POST")
    assert len(creates) == 5
    assert all(header(entry, "idempotency-key") for entry in creates)
    updates = [entry for entry in creates if entry["path"].endswith(body["id"])]
    assert [header(entry, "x-restli-method") for entry in updates] == ["PARTIAL_UPDATE"] * 4


async def test_live_rejection_maps_fields(live_service: Service) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    campaign = await create_campaign(live_service, account)
    response = await live_service.api.post(
        f"/v1/ad-accounts/{account}/ad-sets", json=ad_set_body(campaign, dailyBudget="3")
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "upstream_rejected"
    assert error["upstream"]["status"] == 400
    assert "dailyBudget" in error_fields(response)


async def test_list_filters_by_campaign(live_service: Service) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    first = await create_campaign(live_service, account, name="First")
    second = await create_campaign(live_service, account, name="Second")
    for index in range(3):
        await create_ad_set(live_service, account, first, name=f"First {index}")
    await create_ad_set(live_service, account, second, name="Second 0")
    path = f"/v1/ad-accounts/{account}/ad-sets"
    everything = (await live_service.api.get(path)).json()
    assert len(everything) == 4
    of_first = (await live_service.api.get(path, params={"campaignId": first})).json()
    assert sorted(item["name"] for item in of_first) == ["First 0", "First 1", "First 2"]
    paused = (await live_service.api.get(path, params={"status": "ACTIVE"})).json()
    assert paused == []


async def test_targeting_values_must_be_urns(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    campaign = await create_campaign(service, account)
    path = f"/v1/ad-accounts/{account}/ad-sets"
    cases = [
        ({"include": {"locations": ["notaurn"]}}, "targeting.include.locations"),
        ({"include": {"locations": ["urn:li:geo:"]}}, "targeting.include.locations"),
        (
            {"include": {"locations": [US]}, "exclude": {"seniorities": ["senior"]}},
            "targeting.exclude.seniorities",
        ),
    ]
    for targeting, field in cases:
        response = await service.api.post(path, json=ad_set_body(campaign, targeting=targeting))
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["code"] == "invalid_input"
        assert error_fields(response) == [field], response.json()

    accepted = await service.api.post(
        path,
        json=ad_set_body(
            campaign,
            targeting={"include": {"locations": [US], "ageRanges": ["urn:li:ageRange:(25,34)"]}},
        ),
    )
    assert accepted.status_code == 201, accepted.text
