"""Campaigns: create, validation rules, search, status changes and serving statuses."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import encode

DAY_MS = 86_400_000
UPDATE = {"X-RestLi-Method": "PARTIAL_UPDATE"}


def campaign_body(account: int, group: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": f"urn:li:sponsoredAccount:{account}",
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group}",
        "name": "UA - US",
        "type": "SPONSORED_UPDATES",
        "format": "STANDARD_UPDATE",
        "objectiveType": "WEBSITE_VISIT",
        "costType": "CPM",
        "optimizationTargetType": "MAX_CLICK",
        "creativeSelection": "OPTIMIZED",
        "audienceExpansionEnabled": False,
        "offsiteDeliveryEnabled": False,
        "politicalIntent": "NOT_POLITICAL",
        "locale": {"country": "US", "language": "en"},
        "dailyBudget": {"amount": "50.00", "currencyCode": "USD"},
        "unitCost": {"amount": "0", "currencyCode": "USD"},
        "targetingCriteria": {
            "include": {
                "and": [
                    {"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:103644278"]}},
                ]
            }
        },
        "status": "PAUSED",
    }
    body.update(overrides)
    return body


async def create(api: httpx.AsyncClient, account: int, body: dict[str, Any]) -> httpx.Response:
    return await api.post(f"/rest/adAccounts/{account}/adCampaigns", json=body)


def codes(response: httpx.Response) -> dict[str, str]:
    return {
        e["input"]["inputPath"]["fieldPath"]: e["code"]
        for e in response.json()["errorDetails"]["inputErrors"]
    }


async def test_create_and_get(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    response = await create(api, account, campaign_body(account, group))
    assert response.status_code == 201
    campaign_id = int(response.headers["x-restli-id"])
    body = (await api.get(f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}")).json()
    assert body["id"] == campaign_id
    assert body["status"] == "PAUSED"
    assert body["servingStatuses"] == ["STOPPED"]
    assert body["version"] == {"versionTag": "1"}
    assert body["test"] is False
    assert body["runSchedule"]["start"] > 0


async def test_required_fields(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    body = campaign_body(account, group)
    for name in ("politicalIntent", "locale", "offsiteDeliveryEnabled", "dailyBudget"):
        del body[name]
    response = await create(api, account, body)
    assert response.status_code == 400
    assert response.json()["code"] == "MULTIPLE_VALIDATIONS_FAILED"
    assert codes(response) == {
        "/politicalIntent": "MISSING_FIELD",
        "/locale": "MISSING_FIELD",
        "/offsiteDeliveryEnabled": "MISSING_FIELD",
        "/dailyBudget": "MISSING_FIELD",
    }


async def test_plural_objective_422(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    body = campaign_body(account, group, objectiveType="WEBSITE_CONVERSIONS")
    response = await create(api, account, body)
    assert response.status_code == 422
    assert response.json() == {
        "message": 'ERROR :: /objectiveType :: "WEBSITE_CONVERSIONS" is not an enum symbol',
        "status": 422,
    }


async def test_location_required(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    targeting = {
        "include": {
            "and": [{"or": {"urn:li:adTargetingFacet:seniorities": ["urn:li:seniority:3"]}}]
        }
    }
    response = await create(
        api, account, campaign_body(account, group, targetingCriteria=targeting)
    )
    assert response.status_code == 400
    assert codes(response) == {"/targetingCriteria/include": "MISSING_FIELD"}


async def test_include_exclude_clash(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    seniority = "urn:li:adTargetingFacet:seniorities"
    targeting = {
        "include": {
            "and": [
                {"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:92000000"]}},
                {"or": {seniority: ["urn:li:seniority:3"]}},
            ]
        },
        "exclude": {"or": {seniority: ["urn:li:seniority:1"]}},
    }
    response = await create(
        api, account, campaign_body(account, group, targetingCriteria=targeting)
    )
    assert response.json()["code"] == "FIELD_CANNOT_BE_BOTH_IN_INCLUDED_AND_EXCLUDED_TARGETING"


async def test_budget_minimum(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    body = campaign_body(account, group, dailyBudget={"amount": "9.99", "currencyCode": "USD"})
    response = await create(api, account, body)
    assert response.status_code == 400
    assert codes(response) == {"/dailyBudget/amount": "FIELD_VALUE_TOO_LOW"}


async def test_manual_bid_minimum(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    body = campaign_body(
        account,
        group,
        optimizationTargetType="NONE",
        unitCost={"amount": "1.50", "currencyCode": "USD"},
    )
    response = await create(api, account, body)
    assert codes(response) == {"/unitCost/amount": "FIELD_VALUE_TOO_LOW"}


async def test_currency_mismatch(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind UK"]
    group = seeded["default_groups"][account]
    body = campaign_body(
        account,
        group,
        locale={"country": "GB", "language": "en"},
        unitCost={"amount": "0", "currencyCode": "GBP"},
    )
    response = await create(api, account, body)
    assert response.status_code == 400
    assert codes(response) == {"/dailyBudget/currencyCode": "CURRENCY_MISMATCH"}


async def test_draft_group_rule(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    now = seeded["now_ms"]
    group = await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups",
        json={
            "account": f"urn:li:sponsoredAccount:{account}",
            "name": "Draft group",
            "status": "DRAFT",
            "runSchedule": {"start": now + DAY_MS},
        },
    )
    group_id = int(group.headers["x-restli-id"])
    refused = await create(api, account, campaign_body(account, group_id))
    assert refused.json()["code"] == "ONLY_DRAFT_CAMPAIGNS_ALLOWED_IN_DRAFT_CAMPAIGN_GROUPS"
    draft = await create(api, account, campaign_body(account, group_id, status="DRAFT"))
    assert draft.status_code == 201


async def test_objective_immutable(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    campaign_id = (await create(api, account, campaign_body(account, group))).headers["x-restli-id"]
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}",
        json={"patch": {"$set": {"objectiveType": "ENGAGEMENT"}}},
        headers=UPDATE,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "IMMUTABLE_CAMPAIGN_OBJECTIVE_TYPE"


async def test_pause_resume(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    campaign_id = (await create(api, account, campaign_body(account, group))).headers["x-restli-id"]
    path = f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}"
    resumed = await api.post(path, json={"patch": {"$set": {"status": "ACTIVE"}}}, headers=UPDATE)
    assert resumed.status_code == 204
    body = (await api.get(path)).json()
    assert body["status"] == "ACTIVE"
    assert body["servingStatuses"] == ["RUNNABLE"]
    assert body["version"] == {"versionTag": "2"}


async def test_budget_hold(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    campaign_id = (
        await create(api, account, campaign_body(account, group, status="ACTIVE"))
    ).headers["x-restli-id"]
    held = await sandbox.post(
        "/_sandbox/holds",
        json={
            "urn": f"urn:li:sponsoredCampaign:{campaign_id}",
            "holds": ["CAMPAIGN_TOTAL_BUDGET_HOLD"],
        },
    )
    assert held.status_code == 200
    body = (await api.get(f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}")).json()
    assert body["status"] == "ACTIVE"
    assert body["servingStatuses"] == ["CAMPAIGN_TOTAL_BUDGET_HOLD"]


async def test_group_archive_cascades(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    campaign_id = (await create(api, account, campaign_body(account, group))).headers["x-restli-id"]
    await api.post(
        f"/rest/adAccounts/{account}/adCampaignGroups/{group}",
        json={"patch": {"$set": {"status": "ARCHIVED"}}},
        headers=UPDATE,
    )
    body = (await api.get(f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}")).json()
    assert body["status"] == "ARCHIVED"


async def test_search_requires_criteria(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    created = await create(api, account, campaign_body(account, group))
    campaign_id = int(created.headers["x-restli-id"])
    base = f"/rest/adAccounts/{account}/adCampaigns?q=search"
    assert (await api.get(base)).status_code == 400
    search = encode(
        {
            "campaignGroup": {"values": [f"urn:li:sponsoredCampaignGroup:{group}"]},
            "status": {"values": ["PAUSED"]},
        }
    )
    body = (await api.get(f"{base}&search={search}")).json()
    assert [c["id"] for c in body["elements"]] == [campaign_id]


async def test_delete_draft(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    paused = (await create(api, account, campaign_body(account, group))).headers["x-restli-id"]
    draft = (await create(api, account, campaign_body(account, group, status="DRAFT"))).headers[
        "x-restli-id"
    ]
    base = f"/rest/adAccounts/{account}/adCampaigns"
    refused = await api.delete(f"{base}/{paused}")
    assert refused.json()["code"] == "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS"
    assert (await api.delete(f"{base}/{draft}")).status_code == 204


async def test_terminal_status(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    campaign_id = (await create(api, account, campaign_body(account, group))).headers["x-restli-id"]
    await sandbox.post(
        "/_sandbox/holds",
        json={"urn": f"urn:li:sponsoredCampaign:{campaign_id}", "status": "CANCELED"},
    )
    response = await api.post(
        f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}",
        json={"patch": {"$set": {"status": "ACTIVE"}}},
        headers=UPDATE,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS"


async def test_facet_values_must_be_urns(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account = seeded["accounts"]["Northwind US"]
    group = seeded["default_groups"][account]
    seniority = "urn:li:adTargetingFacet:seniorities"
    targeting = {
        "include": {
            "and": [
                {"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:103644278"]}},
                {"or": {"urn:li:adTargetingFacet:locations": ["notaurn"]}},
            ]
        },
        "exclude": {"or": {seniority: ["urn:li:seniority:1", "senior"]}},
    }
    response = await create(
        api, account, campaign_body(account, group, targetingCriteria=targeting)
    )
    assert response.status_code == 400, response.text
    assert codes(response) == {
        "/targetingCriteria/include/and/1/or/urn:li:adTargetingFacet:locations/0": (
            "INVALID_VALUE_FOR_FIELD"
        ),
        f"/targetingCriteria/exclude/or/{seniority}/1": "INVALID_VALUE_FOR_FIELD",
    }
