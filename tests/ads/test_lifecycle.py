"""Ads (LinkedIn creatives) through the API, in dry-run and live mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ad_sets.helpers import (
    account_with,
    create_ad_set,
    create_campaign,
    error_fields,
    header,
    upstream_requests,
)
from tests.assets.files import png
from tests.assets.test_uploads import organization, upload
from tests.conftest import Service, running_service

SHARE = "urn:li:share:7100000000000000001"


def ad_body(ad_set: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"adSetId": ad_set, "status": "ACTIVE", "content": {"reference": SHARE}}
    body.update(changes)
    return body


def inline(media_urn: str, **changes: Any) -> dict[str, Any]:
    content = {
        "mediaUrn": media_urn,
        "headline": "Ship faster",
        "text": "Try it free",
        "landingPage": "https://example.com/ua",
        "callToAction": "SIGN_UP",
    }
    content.update(changes)
    return content


async def active_ad_set(service: Service, account: str) -> str:
    campaign = await create_campaign(service, account)
    return await create_ad_set(service, account, campaign, status="ACTIVE")


@pytest.fixture
async def named_ads_service(
    service_settings,
    db_engine: AsyncEngine,
    redis: Redis,
    sandbox: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Service]:
    """Live mode with LinkedIn-Version 202601 (creative names need 202410 or later)."""
    settings = service_settings.model_copy(
        update={"linkedin_ads_live_mode": True, "linkedin_ads_api_version": "202601"}
    )
    async with running_service(settings) as running:
        yield running


async def test_dry_run_create_and_lifecycle(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    account = await account_with(service)
    ad_set = await active_ad_set(service, account)
    path = f"/v1/ad-accounts/{account}/ads"
    created = await service.api.post(path, json=ad_body(ad_set))
    assert created.status_code == 201, created.text
    ad = created.json()
    assert ad["dryRun"] is True
    assert ad["urn"] == f"urn:li:sponsoredCreative:{ad['id']}"
    assert ad["adSetUrn"] == f"urn:li:sponsoredCampaign:{ad_set}"
    assert ad["contentReference"] == SHARE
    assert ad["reviewStatus"] == "PENDING"
    assert ad["servingHoldReasons"] == ["UNDER_REVIEW"]
    assert await upstream_requests(sandbox, f"/rest/adAccounts/{account}/creatives") == []

    statuses = []
    for action in ("pause", "resume", "archive"):
        response = await service.api.post(f"{path}/{ad['id']}/{action}")
        assert response.status_code == 200, response.text
        statuses.append(response.json()["status"])
    assert statuses == ["PAUSED", "ACTIVE", "ARCHIVED"]
    fetched = await service.api.get(f"{path}/{ad['urn']}")
    assert fetched.json()["servingHoldReasons"] == ["STOPPED", "UNDER_REVIEW"]
    draft = await service.api.patch(f"{path}/{ad['id']}", json={"status": "DRAFT"})
    assert draft.status_code == 422
    assert error_fields(draft) == ["status"]


async def test_dry_run_inline_with_uploaded_image(
    service: Service, sandbox: httpx.AsyncClient
) -> None:
    await service.connect()
    account = await account_with(service)
    ad_set = await active_ad_set(service, account)
    asset = (await upload(service, account, "image", await organization(sandbox), png())).json()
    path = f"/v1/ad-accounts/{account}/ads"
    created = await service.api.post(path, json=ad_body(ad_set, content=inline(asset["urn"])))
    assert created.status_code == 201, created.text
    assert created.json()["contentReference"].startswith("urn:li:share:dryrun-")


async def test_dry_run_rejects_what_linkedin_would(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    ad_set = await active_ad_set(service, account)
    path = f"/v1/ad-accounts/{account}/ads"
    cases = [
        (ad_body("999"), "adSetId"),
        (ad_body(ad_set, content={"reference": "urn:li:organization:1"}), "content.reference"),
        (ad_body(ad_set, content=inline("urn:li:image:C4E10AQmissing")), "content.mediaUrn"),
        (
            ad_body(ad_set, content=inline("urn:li:image:C4E10AQx", author="Northwind")),
            "content.author",
        ),
        (ad_body(ad_set, name="Spring hero"), "name"),
        (ad_body(ad_set, content={"reference": SHARE, "headline": "Both"}), "content"),
        (
            ad_body(ad_set, content=inline("urn:li:image:x", callToAction="BUY")),
            "content.callToAction",
        ),
    ]
    for body, field in cases:
        response = await service.api.post(path, json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in error_fields(response), (field, response.json())


async def test_live_lifecycle_and_review(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    ad_set = await active_ad_set(live_service, account)
    path = f"/v1/ad-accounts/{account}/ads"
    created = await live_service.api.post(path, json=ad_body(ad_set))
    assert created.status_code == 201, created.text
    ad = created.json()
    assert ad["dryRun"] is False
    assert ad["id"].isdigit()
    assert ad["reviewStatus"] == "PENDING"
    assert "UNDER_REVIEW" in ad["servingHoldReasons"]

    reads = await upstream_requests(sandbox, f"/rest/adAccounts/{account}/creatives/", "GET")
    assert reads[-1]["path"].endswith(f"/creatives/urn%3Ali%3AsponsoredCreative%3A{ad['id']}")
    # Past the review period and the ad set's start (two hours ahead), so no hold applies.
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 3 * 3600})
    approved = (await live_service.api.get(f"{path}/{ad['id']}")).json()
    assert approved["reviewStatus"] == "APPROVED"
    assert approved["isServing"] is True
    assert approved["servingHoldReasons"] == []

    paused = await live_service.api.post(f"{path}/{ad['id']}/pause")
    assert paused.json()["status"] == "PAUSED"
    assert paused.json()["servingHoldReasons"] == ["STOPPED"]
    update = (await upstream_requests(sandbox, f"/rest/adAccounts/{account}/creatives/", "POST"))[
        -1
    ]
    assert header(update, "x-restli-method") == "PARTIAL_UPDATE"
    assert update["body"] == {"patch": {"$set": {"intendedStatus": "PAUSED"}}}

    await sandbox.post(
        f"/_sandbox/creatives/{ad['urn']}/review",
        json={"status": "REJECTED", "rejectionReasons": ["MISLEADING_CLAIMS"]},
    )
    rejected = (await live_service.api.get(f"{path}/{ad['urn']}")).json()
    assert rejected["reviewStatus"] == "REJECTED"
    assert rejected["rejectionReasons"] == ["MISLEADING_CLAIMS"]
    assert "REJECTED" in rejected["servingHoldReasons"]

    listed = await live_service.api.get(path, params={"adSetId": ad_set})
    assert [item["id"] for item in listed.json()] == [ad["id"]]
    finder = (await upstream_requests(sandbox, f"/rest/adAccounts/{account}/creatives", "GET"))[-1]
    assert header(finder, "x-restli-method") == "FINDER"
    assert "q=criteria" in finder["query"]


async def test_live_inline_with_uploaded_image(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    ad_set = await active_ad_set(live_service, account)
    asset = (
        await upload(live_service, account, "image", await organization(sandbox), png())
    ).json()
    response = await live_service.api.post(
        f"/v1/ad-accounts/{account}/ads", json=ad_body(ad_set, content=inline(asset["urn"]))
    )
    assert response.status_code == 201, response.text
    assert response.json()["contentReference"].startswith("urn:li:share:")
    actions = await upstream_requests(sandbox, f"/rest/adAccounts/{account}/creatives", "POST")
    assert "action=createInline" in actions[-1]["query"]
    post = actions[-1]["body"]["creative"]["inlineContent"]["post"]
    assert post["content"]["media"] == {"id": asset["urn"], "title": "Ship faster"}
    assert post["contentCallToActionLabel"] == "SIGN_UP"


async def test_live_name_needs_newer_version(
    live_service: Service, named_ads_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    ad_set = await active_ad_set(live_service, account)
    rejected = await live_service.api.post(
        f"/v1/ad-accounts/{account}/ads", json=ad_body(ad_set, name="Hero")
    )
    assert rejected.status_code == 422
    assert "name" in error_fields(rejected)
    named = await named_ads_service.api.post(
        f"/v1/ad-accounts/{account}/ads", json=ad_body(ad_set, name="Hero #sandbox-reject")
    )
    assert named.status_code == 201, named.text
    assert named.json()["name"] == "Hero #sandbox-reject"
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 60})
    ad_path = f"/v1/ad-accounts/{account}/ads/{named.json()['id']}"
    reviewed = await named_ads_service.api.get(ad_path)
    assert reviewed.json()["reviewStatus"] == "REJECTED"
    assert "REJECTED" in reviewed.json()["servingHoldReasons"]
