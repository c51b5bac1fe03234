"""Media uploads: registerUpload, Images, Videos (multipart) and Documents, over real HTTP."""

from __future__ import annotations

import resource
import struct
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480) + b"\x00" * 64
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12
PART = 4_194_304


def organization(seeded: dict[str, Any]) -> str:
    return str(seeded["organizations"]["urn:li:person:sandbox-member-1"][0])


async def advance(sandbox: httpx.AsyncClient, seconds: float) -> None:
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": seconds})


async def test_register_upload(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    body = {
        "registerUploadRequest": {
            "owner": organization(seeded),
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
            "serviceRelationships": [
                {"identifier": "urn:li:userGeneratedContent", "relationshipType": "OWNER"}
            ],
            "supportedUploadMechanism": ["SYNCHRONOUS_UPLOAD"],
        }
    }
    response = await api.post("/rest/assets?action=registerUpload", json=body)
    assert response.status_code == 200
    value = response.json()["value"]
    mechanism = value["uploadMechanism"][
        "com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest"
    ]
    assert mechanism["uploadUrl"].startswith(f"{sandbox.base_url}/mediaUpload/")
    assert value["asset"].startswith("urn:li:digitalmediaAsset:")
    assert value["mediaArtifact"].startswith(f"urn:li:digitalmediaMediaArtifact:({value['asset']},")
    unauthorised = await sandbox.put(mechanism["uploadUrl"], content=PNG)
    assert unauthorised.status_code == 401
    uploaded = await api.put(mechanism["uploadUrl"], content=PNG)
    assert uploaded.status_code == 201
    asset_id = value["asset"].rsplit(":", 1)[1]
    status = (await api.get(f"/v2/assets/{asset_id}")).json()
    assert status["recipes"][0]["status"] == "PROCESSING"
    await advance(sandbox, 10)
    status = (await api.get(f"/v2/assets/{asset_id}")).json()
    assert status["recipes"][0] == {
        "recipe": "urn:li:digitalmediaRecipe:feedshare-image",
        "status": "AVAILABLE",
    }


async def test_register_empty_owner(api: httpx.AsyncClient) -> None:
    body = {
        "registerUploadRequest": {
            "owner": "",
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
        }
    }
    response = await api.post("/rest/assets?action=registerUpload", json=body)
    assert response.status_code == 400
    message = response.json()["message"]
    assert "owner" in message
    assert "empty" in message


async def test_image_flow(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    account = seeded["accounts"]["Northwind US"]
    body = {
        "initializeUploadRequest": {
            "owner": organization(seeded),
            "mediaLibraryMetadata": {
                "associatedAccount": f"urn:li:sponsoredAccount:{account}",
                "assetName": "Hero",
            },
        }
    }
    value = (await api.post("/rest/images?action=initializeUpload", json=body)).json()["value"]
    image = value["image"]
    assert image.startswith("urn:li:image:")
    assert value["uploadUrlExpiresAt"] > seeded["now_ms"]
    path = f"/rest/images/{quote(image, safe='')}"
    assert (await api.get(path)).json()["status"] == "WAITING_UPLOAD"
    assert (await api.put(value["uploadUrl"], content=PNG)).status_code == 201
    assert (await api.get(path)).json()["status"] == "PROCESSING"
    await advance(sandbox, 10)
    body = (await api.get(path)).json()
    assert body["status"] == "AVAILABLE"
    assert body["owner"] == organization(seeded)
    raw = await api.get(f"/rest/images/{image}")
    assert raw.status_code == 400


async def test_image_wrong_type(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    body = {"initializeUploadRequest": {"owner": organization(seeded)}}
    value = (await api.post("/rest/images?action=initializeUpload", json=body)).json()["value"]
    await api.put(value["uploadUrl"], content=b"%PDF-1.7 not an image")
    await advance(sandbox, 10)
    status = (await api.get(f"/rest/images/{quote(value['image'], safe='')}")).json()
    assert status["status"] == "PROCESSING_FAILED"


async def test_document_flow(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    body = {"initializeUploadRequest": {"owner": organization(seeded)}}
    value = (await api.post("/rest/documents?action=initializeUpload", json=body)).json()["value"]
    assert value["document"].startswith("urn:li:document:")
    pdf = b"%PDF-1.7\n" + b"0" * 1000
    assert (await api.put(value["uploadUrl"], content=pdf)).status_code == 201
    await advance(sandbox, 10)
    status = (await api.get(f"/rest/documents/{quote(value['document'], safe='')}")).json()
    assert status["status"] == "AVAILABLE"


async def test_owner_not_member(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    other = seeded["organizations"]["urn:li:person:sandbox-member-2"][0]
    body = {"initializeUploadRequest": {"owner": other}}
    response = await api.post("/rest/images?action=initializeUpload", json=body)
    assert response.status_code == 403


async def chunks(size: int, first: bytes = b"") -> AsyncIterator[bytes]:
    block = b"\x00" * 1_048_576
    sent = 0
    if first:
        yield first
        sent = len(first)
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece


async def test_video_multipart(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    size = 2 * PART + 1000
    body = {
        "initializeUploadRequest": {
            "owner": organization(seeded),
            "fileSizeBytes": size,
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
    }
    value = (await api.post("/rest/videos?action=initializeUpload", json=body)).json()["value"]
    instructions = value["uploadInstructions"]
    assert [(i["firstByte"], i["lastByte"]) for i in instructions] == [
        (0, PART - 1),
        (PART, 2 * PART - 1),
        (2 * PART, size - 1),
    ]
    assert value["uploadToken"] == ""
    etags = []
    async with httpx.AsyncClient(timeout=30) as unsigned:
        for index, instruction in enumerate(instructions):
            length = instruction["lastByte"] - instruction["firstByte"] + 1
            response = await unsigned.put(
                instruction["uploadUrl"],
                content=chunks(length, MP4_HEAD if index == 0 else b""),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert response.status_code == 200
            etags.append(response.headers["etag"])
    finalize = {
        "finalizeUploadRequest": {
            "video": value["video"],
            "uploadToken": "",
            "uploadedPartIds": list(reversed(etags)),
        }
    }
    wrong = await api.post("/rest/videos?action=finalizeUpload", json=finalize)
    assert wrong.status_code == 400
    finalize["finalizeUploadRequest"]["uploadedPartIds"] = etags
    done = await api.post("/rest/videos?action=finalizeUpload", json=finalize)
    assert done.status_code == 200
    path = f"/rest/videos/{quote(value['video'], safe='')}"
    assert (await api.get(path)).json()["status"] == "PROCESSING"
    await advance(sandbox, 10)
    assert (await api.get(path)).json()["status"] == "AVAILABLE"


async def test_video_part_size(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    body = {"initializeUploadRequest": {"owner": organization(seeded), "fileSizeBytes": 1000}}
    value = (await api.post("/rest/videos?action=initializeUpload", json=body)).json()["value"]
    url = value["uploadInstructions"][0]["uploadUrl"]
    response = await api.put(url, content=b"\x00" * 999)
    assert response.status_code == 400
    forged = await api.put(url.replace("sig=", "sig=x"), content=b"\x00" * 1000)
    assert forged.status_code == 403


async def test_video_too_large(api: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    body = {
        "initializeUploadRequest": {
            "owner": organization(seeded),
            "fileSizeBytes": 500 * 1024 * 1024 + 1,
        }
    }
    response = await api.post("/rest/videos?action=initializeUpload", json=body)
    assert response.status_code == 400


async def test_large_upload_streams(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    """A 200 MB upload goes through without the server holding the file in memory."""
    body = {
        "registerUploadRequest": {
            "owner": organization(seeded),
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-video"],
        }
    }
    value = (await api.post("/rest/assets?action=registerUpload", json=body)).json()["value"]
    url = value["uploadMechanism"]["com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest"][
        "uploadUrl"
    ]
    size = 200 * 1024 * 1024
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = await api.put(url, content=chunks(size, MP4_HEAD))
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert response.status_code == 201
    # ru_maxrss is in KiB on Linux; buffering the file would raise the peak by about 200 MiB.
    assert peak_after - peak_before < 64 * 1024
    state = (await sandbox.get("/_sandbox/state")).json()
    uploaded = [a for a in state["assets"] if a["urn"] == value["asset"]]
    assert uploaded[0]["bytes"] == size
