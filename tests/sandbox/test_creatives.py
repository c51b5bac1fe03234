"""Creatives: create by reference and inline, URN keys, criteria finder, review and deletion."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.sandbox.helpers import encode

UPDATE = {"X-RestLi-Method": "PARTIAL_UPDATE"}
FINDER = {"X-RestLi-Method": "FINDER"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x80\x00\x00\x01\xe0" + b"\x00" * 64


async def make_campaign(
    api: httpx.AsyncClient, account: int, group: int, status: str = "ACTIVE"
) -> str:
    body = {
        "account": f"urn:li:sponsoredAccount:{account}",
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group}",
        "name": "Creative host",
        "type": "SPONSORED_UPDATES",
        "costType": "CPM",
        "optimizationTargetType": "MAX_CLICK",
        "offsiteDeliveryEnabled": False,
        "politicalIntent": "NOT_POLITICAL",
        "locale": {"country": "US", "language": "en"},
        "dailyBudget": {"amount": "50", "currencyCode": "USD"},
        "unitCost": {"amount": "0", "currencyCode": "USD"},
        "targetingCriteria": {
            "include": {
                "and": [{"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:92000000"]}}]
            }
        },
        "status": status,
    }
    response = await api.post(f"/rest/adAccounts/{account}/adCampaigns", json=body)
    assert response.status_code == 201, response.text
    return f"urn:li:sponsoredCampaign:{response.headers['x-restli-id']}"


async def make_creative(
    api: httpx.AsyncClient,
    account: int,
    campaign: str,
    status: str = "ACTIVE",
    name: str = "Spring",
) -> str:
    body = {
        "campaign": campaign,
        "content": {"reference": "urn:li:share:6778045555198214144"},
        "intendedStatus": status,
        "name": name,
    }
    response = await api.post(f"/rest/adAccounts/{account}/creatives", json=body)
    assert response.status_code == 201, response.text
    return response.headers["x-restli-id"]


async def setup_campaign(api: httpx.AsyncClient, seeded: dict[str, Any]) -> tuple[int, str]:
    account = seeded["accounts"]["Northwind US"]
    campaign = await make_campaign(api, account, seeded["default_groups"][account])
    return account, campaign


async def test_create_by_reference(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign)
    assert urn.startswith("urn:li:sponsoredCreative:")
    body = (await api.get(f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}")).json()
    assert body["id"] == urn
    assert body["campaign"] == campaign
    assert body["account"] == f"urn:li:sponsoredAccount:{account}"
    assert body["review"] == {"status": "PENDING"}
    assert body["servingHoldReasons"] == ["UNDER_REVIEW"]
    assert body["isServing"] is False


async def test_unencoded_key(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign)
    response = await api.get(f"/rest/adAccounts/{account}/creatives/{urn}")
    assert response.status_code == 400
    double = quote(quote(urn, safe=""), safe="")
    assert (await api.get(f"/rest/adAccounts/{account}/creatives/{double}")).status_code == 400


async def test_review_approves(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign)
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 31})
    body = (await api.get(f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}")).json()
    assert body["review"] == {"status": "APPROVED"}
    assert body["isServing"] is True
    assert "servingHoldReasons" not in body


async def test_review_rejected(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign)
    response = await sandbox.post(
        f"/_sandbox/creatives/{quote(urn, safe='')}/review",
        json={"status": "REJECTED", "rejectionReasons": ["PROFANITY"]},
    )
    assert response.status_code == 200
    body = (await api.get(f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}")).json()
    assert body["review"] == {"status": "REJECTED", "rejectionReasons": ["PROFANITY"]}
    assert body["servingHoldReasons"] == ["REJECTED"]


async def test_draft_has_no_review(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign, status="DRAFT")
    path = f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}"
    assert "review" not in (await api.get(path)).json()
    response = await api.post(
        path, json={"patch": {"$set": {"intendedStatus": "ACTIVE"}}}, headers=UPDATE
    )
    assert response.status_code == 204
    assert (await api.get(path)).json()["review"] == {"status": "PENDING"}


async def test_finder_needs_header(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    await make_creative(api, account, campaign)
    query = f"q=criteria&campaigns={encode([campaign])}"
    missing = await api.get(f"/rest/adAccounts/{account}/creatives?{query}")
    assert missing.status_code == 400
    found = await api.get(f"/rest/adAccounts/{account}/creatives?{query}", headers=FINDER)
    assert found.status_code == 200
    assert len(found.json()["elements"]) == 1


async def test_finder_pages(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    created = [
        await make_creative(api, account, campaign, status=status)
        for status in ("ACTIVE", "PAUSED", "ACTIVE")
    ]
    statuses = encode(["ACTIVE"])
    base = (
        f"/rest/adAccounts/{account}/creatives?q=criteria&campaigns={encode([campaign])}"
        f"&intendedStatuses={statuses}&isTotalIncluded=true"
    )
    first = (await api.get(f"{base}&pageSize=1", headers=FINDER)).json()
    assert [c["id"] for c in first["elements"]] == [created[0]]
    assert first["metadata"]["totalResultCount"] == 2
    token = first["metadata"]["nextPageToken"]
    second = (await api.get(f"{base}&pageSize=1&pageToken={token}", headers=FINDER)).json()
    assert [c["id"] for c in second["elements"]] == [created[2]]
    assert "nextPageToken" not in second["metadata"]
    too_big = await api.get(f"{base}&pageSize=101", headers=FINDER)
    assert too_big.status_code == 400


async def test_finder_double_encoded(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    double = quote(quote(campaign, safe=""), safe="")
    response = await api.get(
        f"/rest/adAccounts/{account}/creatives?q=criteria&campaigns=List({double})", headers=FINDER
    )
    assert response.status_code == 400


async def test_create_inline(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account, campaign = await setup_campaign(api, seeded)
    organization = seeded["organizations"]["urn:li:person:sandbox-member-1"][0]
    init = {"initializeUploadRequest": {"owner": organization}}
    image = (await api.post("/rest/images?action=initializeUpload", json=init)).json()["value"]
    await api.put(image["uploadUrl"], content=PNG)
    body = {
        "creative": {
            "campaign": campaign,
            "intendedStatus": "ACTIVE",
            "name": "Inline",
            "inlineContent": {
                "post": {
                    "adContext": {
                        "dscAdAccount": f"urn:li:sponsoredAccount:{account}",
                        "dscStatus": "ACTIVE",
                    },
                    "author": organization,
                    "commentary": "Hello",
                    "visibility": "PUBLIC",
                    "lifecycleState": "PUBLISHED",
                    "isReshareDisabledByAuthor": True,
                    "content": {"media": {"title": "Hero", "id": image["image"]}},
                }
            },
        }
    }
    response = await api.post(
        f"/rest/adAccounts/{account}/creatives?action=createInline", json=body
    )
    assert response.status_code == 201
    urn = response.json()["value"]["creative"]
    assert response.headers["x-restli-id"] == urn
    creative = (await api.get(f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}")).json()
    assert creative["content"]["reference"].startswith("urn:li:share:")
    assert "PROCESSING" in creative["servingHoldReasons"]


async def test_inline_unknown_media(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    organization = seeded["organizations"]["urn:li:person:sandbox-member-1"][0]
    body = {
        "creative": {
            "campaign": campaign,
            "intendedStatus": "DRAFT",
            "inlineContent": {
                "post": {"author": organization, "content": {"media": {"id": "urn:li:image:nope"}}}
            },
        }
    }
    response = await api.post(
        f"/rest/adAccounts/{account}/creatives?action=createInline", json=body
    )
    assert response.status_code == 400


async def test_update_and_delete(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    active = await make_creative(api, account, campaign)
    draft = await make_creative(api, account, campaign, status="DRAFT")
    active_path = f"/rest/adAccounts/{account}/creatives/{quote(active, safe='')}"
    paused = await api.post(
        active_path, json={"patch": {"$set": {"intendedStatus": "PAUSED"}}}, headers=UPDATE
    )
    assert paused.status_code == 204
    assert (await api.get(active_path)).json()["intendedStatus"] == "PAUSED"
    refused = await api.delete(active_path)
    assert refused.status_code == 400
    assert refused.json()["code"] == "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS"
    draft_path = f"/rest/adAccounts/{account}/creatives/{quote(draft, safe='')}"
    assert (await api.delete(draft_path)).status_code == 204
    assert (await api.get(draft_path)).status_code == 404


async def test_content_not_updatable(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    urn = await make_creative(api, account, campaign)
    patch = {"patch": {"$set": {"content": {"reference": "urn:li:share:1"}}}}
    response = await api.post(
        f"/rest/adAccounts/{account}/creatives/{quote(urn, safe='')}", json=patch, headers=UPDATE
    )
    assert response.status_code == 400


async def test_name_needs_new_version(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    body = {
        "campaign": campaign,
        "content": {"reference": "urn:li:share:1"},
        "intendedStatus": "DRAFT",
        "name": "Named",
    }
    response = await api.post(
        f"/rest/adAccounts/{account}/creatives", json=body, headers={"LinkedIn-Version": "202402"}
    )
    assert response.status_code == 422
    assert response.json()["message"] == (
        "ERROR :: /name :: unrecognized field found but not allowed"
    )


async def test_bad_reference(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    account, campaign = await setup_campaign(api, seeded)
    body = {
        "campaign": campaign,
        "content": {"reference": "urn:li:image:1"},
        "intendedStatus": "DRAFT",
    }
    response = await api.post(f"/rest/adAccounts/{account}/creatives", json=body)
    assert response.status_code == 400
