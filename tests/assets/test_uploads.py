"""Media uploads through the API: local checks, dry-run responses, and both LinkedIn flows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ad_sets.helpers import account_with, header, upstream_requests
from tests.assets.files import jpeg, mp4, pdf, png
from tests.conftest import Service, running_service

OWNER_HINT = (
    "registerUpload returns 400 with owner empty — the upload owner URN was not "
    "derivable from the supplied DTO. Pass the organisation URN (e.g. "
    "urn:li:organization:1234) in the DTO's asset_id field, or call the register_upload "
    "adapter operation directly with the full body."
)


async def organization(sandbox: httpx.AsyncClient) -> str:
    state = (await sandbox.get("/_sandbox/state")).json()
    member = next(m for m in state["members"] if m["urn"].endswith("sandbox-member-1"))
    return str(member["organizations"][0])


def form(
    kind: str,
    owner: str | None,
    content: bytes,
    *,
    size: bool = False,
    filename: str = "upload.bin",
) -> dict[str, Any]:
    data = {"kind": kind}
    if owner is not None:
        data["assetId"] = owner
    if size:
        data["fileSize"] = str(len(content))
    return {"data": data, "files": {"file": (filename, content, "application/octet-stream")}}


async def upload(
    service: Service,
    account: str,
    kind: str,
    owner: str | None,
    content: bytes,
    *,
    size: bool = False,
    wait: bool = False,
    key: str | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await service.api.post(
        f"/v1/ad-accounts/{account}/assets",
        params={"wait": str(wait).lower()},
        headers=headers,
        **form(kind, owner, content, size=size),
    )


@pytest.fixture
async def images_videos_service(
    service_settings,
    db_engine: AsyncEngine,
    redis: Redis,
    sandbox: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Service]:
    """The service in live mode with the versioned Images and Videos APIs."""
    settings = service_settings.model_copy(
        update={
            "linkedin_ads_live_mode": True,
            "linkedin_ads_upload_flow": "images_videos",
            "linkedin_ads_upload_poll_interval_seconds": 0.05,
        }
    )
    async with running_service(settings) as running:
        yield running


async def test_dry_run_upload_stays_local(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    account = await account_with(service)
    owner = await organization(sandbox)
    image = png()
    response = await upload(service, account, "image", owner, image)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dryRun"] is True
    assert body["urn"].startswith("urn:li:digitalmediaAsset:dryrun-")
    assert body["status"] == "AVAILABLE"
    assert body["size"] == len(image)
    assert body["mediaType"] == "image/png"
    assert await upstream_requests(sandbox, "/rest/assets") == []
    assert await upstream_requests(sandbox, "/mediaUpload") == []
    fetched = await service.api.get(f"/v1/ad-accounts/{account}/assets/{body['urn']}")
    assert fetched.json()["status"] == "AVAILABLE"
    assert fetched.json()["dryRun"] is True


async def test_local_checks_reject_before_upstream(
    service: Service, sandbox: httpx.AsyncClient
) -> None:
    await service.connect()
    account = await account_with(service)
    owner = await organization(sandbox)
    wrong_type = await upload(service, account, "video", owner, png())
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["fields"][0]["field"] == "file"
    not_pdf = await upload(service, account, "document", owner, jpeg())
    assert not_pdf.status_code == 422
    too_big = await upload(service, account, "image", owner, png() + bytes(6 * 1024 * 1024))
    assert too_big.status_code == 422
    assert "5242880 bytes" in too_big.json()["error"]["message"]
    declared_big = await service.api.post(
        f"/v1/ad-accounts/{account}/assets",
        data={"kind": "image", "assetId": owner, "fileSize": str(6 * 1024 * 1024)},
        files={"file": ("a.png", png(), "image/png")},
    )
    assert declared_big.status_code == 422
    wrong_size = await upload(service, account, "image", owner, png(), size=True)
    assert wrong_size.status_code == 201
    bad_kind = await upload(service, account, "gif", owner, png())
    assert bad_kind.json()["error"]["fields"][0]["field"] == "kind"
    bad_owner = await upload(service, account, "image", "Northwind", png())
    assert bad_owner.json()["error"]["fields"][0]["field"] == "assetId"


async def test_missing_owner_gives_hint(service: Service) -> None:
    await service.connect()
    account = await account_with(service)
    response = await upload(service, account, "image", None, png())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "upload_owner_missing"
    assert error["operation"] == "register_upload"
    assert OWNER_HINT in error["message"]
    assert error["fields"][0]["field"] == "assetId"


async def test_live_register_upload_flow(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    owner = await organization(sandbox)
    image = png(300, 200)
    response = await upload(live_service, account, "image", owner, image, key="img-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dryRun"] is False
    assert body["flow"] == "register_upload"
    assert body["urn"].startswith("urn:li:digitalmediaAsset:")
    assert body["status"] == "PROCESSING"

    registered = await upstream_requests(sandbox, "/rest/assets", "POST")
    assert len(registered) == 1
    assert header(registered[0], "x-restli-method") == "ACTION"
    puts = await upstream_requests(sandbox, "/mediaUpload", "PUT")
    assert len(puts) == 1
    assert puts[0]["authorization_present"] is True
    state = (await sandbox.get("/_sandbox/state")).json()
    stored = next(asset for asset in state["assets"] if asset["urn"] == body["urn"])
    assert stored["bytes"] == len(image)
    assert stored["owner"] == owner

    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 5})
    status = await live_service.api.get(f"/v1/ad-accounts/{account}/assets/{body['urn']}")
    assert status.json()["status"] == "AVAILABLE"
    again = await upload(live_service, account, "image", owner, image, key="img-1")
    assert again.json()["urn"] == body["urn"]
    assert len(await upstream_requests(sandbox, "/mediaUpload", "PUT")) == 1


async def test_live_images_videos_flow(
    images_videos_service: Service, sandbox: httpx.AsyncClient
) -> None:
    service = images_videos_service
    await service.connect()
    account = await account_with(service)
    owner = await organization(sandbox)

    image = await upload(service, account, "image", owner, jpeg())
    assert image.status_code == 201, image.text
    assert image.json()["urn"].startswith("urn:li:image:")
    assert image.json()["flow"] == "images"

    video_bytes = mp4(4_194_304 + 100_000)
    for declared in (True, False):
        video = await upload(service, account, "video", owner, video_bytes, size=declared)
        assert video.status_code == 201, video.text
        assert video.json()["urn"].startswith("urn:li:video:")
        assert video.json()["mediaType"] == "video/mp4"
    parts = await upstream_requests(sandbox, "/dms-uploads/videos", "PUT")
    assert len(parts) == 4
    assert [part["authorization_present"] for part in parts] == [False] * 4
    finals = [
        entry
        for entry in await upstream_requests(sandbox, "/rest/videos", "POST")
        if "action=finalizeUpload" in entry["query"]
    ]
    assert len(finals) == 2
    part_ids = finals[0]["body"]["finalizeUploadRequest"]["uploadedPartIds"]
    assert len(part_ids) == 2

    document = await upload(service, account, "document", owner, pdf(), size=True)
    assert document.status_code == 201, document.text
    assert document.json()["urn"].startswith("urn:li:document:")
    assert document.json()["flow"] == "documents"

    state = (await sandbox.get("/_sandbox/state")).json()
    sizes = {asset["urn"]: asset["bytes"] for asset in state["assets"]}
    assert sizes[video.json()["urn"]] == len(video_bytes)


async def test_upload_waits_for_processing(
    images_videos_service: Service, sandbox: httpx.AsyncClient
) -> None:
    service = images_videos_service
    await service.connect()
    account = await account_with(service)
    owner = await organization(sandbox)
    await sandbox.post("/_sandbox/config", json={"media_processing_seconds": 0.3})
    response = await upload(service, account, "image", owner, png(), wait=True)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "AVAILABLE"
    await sandbox.post("/_sandbox/config", json={"media_processing_seconds": 3.0})


async def test_raw_register_upload(live_service: Service, sandbox: httpx.AsyncClient) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    owner = await organization(sandbox)
    path = f"/v1/ad-accounts/{account}/assets/register-upload"
    body = {
        "registerUploadRequest": {
            "owner": owner,
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-video"],
            "serviceRelationships": [
                {"identifier": "urn:li:userGeneratedContent", "relationshipType": "OWNER"}
            ],
            "supportedUploadMechanism": ["SYNCHRONOUS_UPLOAD"],
        }
    }
    response = await live_service.api.post(path, json=body)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert value["asset"].startswith("urn:li:digitalmediaAsset:")
    mechanisms = value["uploadMechanism"]
    mechanism = mechanisms["com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest"]
    assert "/mediaUpload/" in mechanism["uploadUrl"]

    empty = {"registerUploadRequest": {**body["registerUploadRequest"], "owner": ""}}
    rejected = await live_service.api.post(path, json=empty)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["code"] == "upload_owner_missing"
    assert OWNER_HINT in rejected.json()["error"]["message"]


async def test_raw_register_upload_dry_run(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    account = await account_with(service)
    path = f"/v1/ad-accounts/{account}/assets/register-upload"
    body = {
        "registerUploadRequest": {
            "owner": await organization(sandbox),
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
        }
    }
    response = await service.api.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["dryRun"] is True
    assert response.json()["value"]["asset"].startswith("urn:li:digitalmediaAsset:dryrun-")
    missing = await service.api.post(
        path,
        json={"registerUploadRequest": {"recipes": ["urn:li:digitalmediaRecipe:feedshare-image"]}},
    )
    assert missing.status_code == 400
    assert OWNER_HINT in missing.json()["error"]["message"]
    assert await upstream_requests(sandbox, "/rest/assets") == []


async def test_declared_size_larger_than_file(
    images_videos_service: Service, sandbox: httpx.AsyncClient
) -> None:
    service = images_videos_service
    await service.connect()
    account = await account_with(service)
    owner = await organization(sandbox)
    video_bytes = mp4(2_000_000)
    response = await service.api.post(
        f"/v1/ad-accounts/{account}/assets",
        data={"kind": "video", "assetId": owner, "fileSize": "2000100"},
        files={"file": ("med.mp4", video_bytes, "video/mp4")},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["retryable"] is False
    assert error["fields"][0]["field"] == "fileSize"
    assert "100 bytes" in error["message"]
    assert "fileSize" in error["message"]
    for fragment in ("Error(", "ConnectionKey", "proxy_auth", "=None"):
        assert fragment not in error["message"]
    finals = [
        entry
        for entry in await upstream_requests(sandbox, "/rest/videos", "POST")
        if "action=finalizeUpload" in entry["query"]
    ]
    assert finals == []


async def test_declared_size_larger_register_upload(
    live_service: Service, sandbox: httpx.AsyncClient
) -> None:
    await live_service.connect()
    account = await account_with(live_service)
    owner = await organization(sandbox)
    image = png(300, 200)
    response = await live_service.api.post(
        f"/v1/ad-accounts/{account}/assets",
        data={"kind": "image", "assetId": owner, "fileSize": str(len(image) + 100)},
        files={"file": ("a.png", image, "image/png")},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["fields"][0]["field"] == "fileSize"
    assert "ConnectionKey" not in error["message"]

    longer = await live_service.api.post(
        f"/v1/ad-accounts/{account}/assets",
        data={"kind": "image", "assetId": owner, "fileSize": str(len(image) - 100)},
        files={"file": ("a.png", image, "image/png")},
    )
    assert longer.status_code == 422, longer.text
    assert longer.json()["error"]["fields"][0]["field"] == "fileSize"

    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 60})
    state = (await sandbox.get("/_sandbox/state")).json()
    assert len(state["assets"]) == 2
    assert [asset["status"] for asset in state["assets"]] == ["WAITING_UPLOAD"] * 2
