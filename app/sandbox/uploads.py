"""Media uploads: legacy `assets?action=registerUpload`, and the versioned Images, Videos and
Documents APIs, with the upload URLs served by the sandbox itself.

Upload bodies are streamed: only the byte count, the first bytes (for the file-type check) and,
for video parts, an MD5 digest are kept, so large files need little memory.
"""

from __future__ import annotations

import hashlib
import string
import struct
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.sandbox.common import is_urn
from app.sandbox.errors import ApiError, bad_request, coded_error, not_found, restli_error
from app.sandbox.protocol import (
    RestContext,
    RestRouter,
    authenticate,
    error_response,
    json_response,
)
from app.sandbox.runtime import Sandbox, get_sandbox
from app.sandbox.state import ACCOUNT_URN, Media, UploadPart

VIDEO_PART_SIZE = 4_194_304
# LinkedIn's Images API takes images of fewer than 36,152,320 pixels.
# NOTE: the 5 MB cap is the single-image ad specification reported by third parties.
MAX_IMAGE_PIXELS = 36_152_320
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_VIDEO_BYTES = 500 * 1024 * 1024
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
# Legacy uploads have no documented size limit. This cap only protects the sandbox.
MAX_LEGACY_BYTES = MAX_VIDEO_BYTES
UPLOAD_URL_LIFETIME_MS = 86_400_000
HEAD_BYTES = 262_144
RECIPES = {
    "urn:li:digitalmediaRecipe:feedshare-image": ("image", "feedshare-uploadedImage"),
    "urn:li:digitalmediaRecipe:feedshare-video": ("video", "feedshare-uploadedVideo"),
    "urn:li:digitalmediaRecipe:ads-image": ("image", "ads-uploadedImage"),
    "urn:li:digitalmediaRecipe:ads-video": ("video", "ads-uploadedVideo"),
}
LEGACY_RECIPE_STATUS = {
    "WAITING_UPLOAD": "WAITING_UPLOAD",
    "PROCESSING": "PROCESSING",
    "AVAILABLE": "AVAILABLE",
    "PROCESSING_FAILED": "CLIENT_ERROR",
}
_ID_ALPHABET = string.ascii_letters + string.digits

upload_router = APIRouter()


def _random_id(sandbox: Sandbox, prefix: str, length: int = 16) -> str:
    rng = sandbox.state.rng
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(length))


def _secret(sandbox: Sandbox) -> str:
    return _random_id(sandbox, "", 32)


# File-type checks on the first bytes of an upload.


def _image_pixels(head: bytes) -> int | None:
    """Return width x height from a PNG, GIF or JPEG header, or None when not found."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width * height)
    if head[:6] in {b"GIF87a", b"GIF89a"} and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return int(width * height)
    if head.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(head):
            if head[index] != 0xFF:
                return None
            marker = head[index + 1]
            length = struct.unpack(">H", head[index + 2 : index + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in {0xC4, 0xC8, 0xCC}:
                height, width = struct.unpack(">HH", head[index + 5 : index + 9])
                return int(width * height)
            index += 2 + length
    return None


def _failure_reason(kind: str, head: bytes, size: int) -> str | None:
    """Return why processing of an upload fails, or None when it is a valid file."""
    if size == 0:
        return "The uploaded file is empty"
    if kind == "image":
        is_image = (
            head.startswith(b"\x89PNG\r\n\x1a\n")
            or head.startswith(b"\xff\xd8\xff")
            or head[:6] in {b"GIF87a", b"GIF89a"}
        )
        if not is_image:
            return "The uploaded file is not a PNG, JPEG or GIF image"
        if size > MAX_IMAGE_BYTES:
            return f"The image is larger than {MAX_IMAGE_BYTES} bytes"
        pixels = _image_pixels(head)
        if pixels is not None and pixels >= MAX_IMAGE_PIXELS:
            return f"The image has {pixels} pixels, but it must have fewer than {MAX_IMAGE_PIXELS}"
        return None
    if kind == "video":
        if head[4:8] != b"ftyp":
            return "The uploaded file is not an MP4 video"
        return None
    if kind == "document":
        is_document = (
            head.startswith(b"%PDF-")
            or head.startswith(b"PK\x03\x04")
            or head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
        )
        if not is_document:
            return "The uploaded file is not a PDF, PPT, PPTX, DOC or DOCX document"
        return None
    return None


# Owner checks and lookups.


def _check_owner(ctx: RestContext, owner: Any, path: str) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise restli_error(
            400,
            f"Field validation failed: {path} is empty. The owner must be an organization URN "
            "(urn:li:organization:<id>) or a person URN",
            100,
        )
    if not is_urn(owner, "organization", "person"):
        raise restli_error(
            400, f"Invalid {path} {owner!r}: expected an organization or person URN", 100
        )
    member = ctx.state.members[ctx.member]
    if owner != ctx.member and owner not in member.organizations:
        raise ctx.denied("ACTION-upload")
    return owner


def _media_for_key(ctx: RestContext, urn_type: str) -> Media:
    raw_key = ctx.raw_path_params["key"]
    key = ctx.path_params["key"]
    if ":" in raw_key:
        raise bad_request(f"Invalid key {raw_key!r}: URN keys in the path must be percent-encoded")
    if not is_urn(key, urn_type):
        raise bad_request(f"Invalid key {key!r}: expected urn:li:{urn_type}:<id>")
    media: Media | None = ctx.state.media.get(key)
    if media is None:
        raise not_found(f"{key} does not exist")
    _check_media_access(ctx, media)
    return media


def _check_media_access(ctx: RestContext, media: Media) -> None:
    member = ctx.state.members[ctx.member]
    if media.owner != ctx.member and media.owner not in member.organizations:
        raise ctx.denied("GET")


def _status(ctx: RestContext, media: Media) -> str:
    return media.status(ctx.state.now(), ctx.sandbox.config.media_processing_seconds)


def _media_library(ctx: RestContext, request: dict[str, Any]) -> dict[str, Any] | None:
    metadata = request.get("mediaLibraryMetadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_request("mediaLibraryMetadata must be an object")
    account = metadata.get("associatedAccount")
    if account is not None:
        text = str(account)
        account_id = text[len(ACCOUNT_URN) :] if text.startswith(ACCOUNT_URN) else ""
        if not account_id.isdigit() or int(account_id) not in ctx.state.accounts:
            raise bad_request(f"Invalid mediaLibraryMetadata.associatedAccount {account!r}")
        if (int(account_id), ctx.member) not in ctx.state.roles:
            raise ctx.denied("ACTION-initializeUpload")
    return metadata


def _initialize_request(body: dict[str, Any]) -> dict[str, Any]:
    request = body.get("initializeUploadRequest")
    if not isinstance(request, dict):
        raise bad_request('The body must be {"initializeUploadRequest": {...}}')
    return request


# Legacy Vector Assets API.


async def post_assets(ctx: RestContext) -> Response:
    action = ctx.params.text("action")
    if action != "registerUpload":
        raise bad_request(f"Unsupported action {action!r} on assets: use action=registerUpload")
    body = await ctx.json_body()
    request = body.get("registerUploadRequest")
    if not isinstance(request, dict):
        raise bad_request('The body must be {"registerUploadRequest": {...}}')

    owner = _check_owner(ctx, request.get("owner"), "/registerUploadRequest/owner")
    recipes = request.get("recipes")
    if not isinstance(recipes, list) or len(recipes) != 1 or recipes[0] not in RECIPES:
        raise bad_request(
            f"Invalid /registerUploadRequest/recipes {recipes!r}: expected one of "
            + ", ".join(sorted(RECIPES))
        )
    kind, artifact_class = RECIPES[recipes[0]]

    sandbox = ctx.sandbox
    asset_id = _random_id(sandbox, "C5" if kind == "video" else "C4", 14)
    urn = f"urn:li:digitalmediaAsset:{asset_id}"
    media = Media(
        urn=urn,
        kind="asset",
        owner=owner,
        member=ctx.member,
        created_at=ctx.state.now(),
        upload_secret=_secret(sandbox),
        recipe=recipes[0],
    )
    ctx.state.media[urn] = media

    base = sandbox.base_url(ctx.request)
    upload_url = f"{base}/mediaUpload/{asset_id}/{media.upload_secret}"
    return json_response(
        {
            "value": {
                "uploadMechanism": {
                    "com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest": {
                        "headers": {},
                        "uploadUrl": upload_url,
                    }
                },
                "mediaArtifact": (
                    f"urn:li:digitalmediaMediaArtifact:({urn},"
                    f"urn:li:digitalmediaMediaArtifactClass:{artifact_class})"
                ),
                "asset": urn,
            }
        }
    )


async def get_asset(ctx: RestContext) -> Response:
    key = ctx.path_params["key"]
    urn = key if key.startswith("urn:li:digitalmediaAsset:") else f"urn:li:digitalmediaAsset:{key}"
    media = ctx.state.media.get(urn)
    if media is None or media.kind != "asset":
        raise not_found(f"Asset {key} does not exist")
    _check_media_access(ctx, media)
    kind = RECIPES[media.recipe or ""][0]
    return json_response(
        {
            "id": urn.rsplit(":", 1)[1],
            "mediaTypeFamily": "VIDEO" if kind == "video" else "STILLIMAGE",
            "recipes": [
                {"recipe": media.recipe, "status": LEGACY_RECIPE_STATUS[_status(ctx, media)]}
            ],
            "serviceRelationships": [
                {"identifier": "urn:li:userGeneratedContent", "relationshipType": "OWNER"}
            ],
            "status": "ALLOWED",
        }
    )


# Images and documents: one PUT with Authorization.


def _new_single_upload(
    ctx: RestContext, kind: str, urn_prefix: str, id_prefix: str, request: dict[str, Any]
) -> tuple[Media, str]:
    owner = _check_owner(ctx, request.get("owner"), "/initializeUploadRequest/owner")
    sandbox = ctx.sandbox
    urn = f"{urn_prefix}{_random_id(sandbox, id_prefix, 12)}"
    media = Media(
        urn=urn,
        kind=kind,
        owner=owner,
        member=ctx.member,
        created_at=ctx.state.now(),
        upload_secret=_secret(sandbox),
        media_library=_media_library(ctx, request),
    )
    ctx.state.media[urn] = media
    upload_url = f"{sandbox.base_url(ctx.request)}/dms-uploads/{kind}s/{media.upload_secret}"
    return media, upload_url


async def post_images(ctx: RestContext) -> Response:
    if ctx.params.text("action") != "initializeUpload":
        raise bad_request("Unsupported action on images: use action=initializeUpload")
    request = _initialize_request(await ctx.json_body())
    media, upload_url = _new_single_upload(ctx, "image", "urn:li:image:", "C4E10AQ", request)
    expires = ctx.state.now_ms() + UPLOAD_URL_LIFETIME_MS
    return json_response(
        {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "image": media.urn}}
    )


async def post_documents(ctx: RestContext) -> Response:
    if ctx.params.text("action") != "initializeUpload":
        raise bad_request("Unsupported action on documents: use action=initializeUpload")
    request = _initialize_request(await ctx.json_body())
    media, upload_url = _new_single_upload(ctx, "document", "urn:li:document:", "D5F10AQ", request)
    expires = ctx.state.now_ms() + UPLOAD_URL_LIFETIME_MS
    return json_response(
        {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "document": media.urn}}
    )


def _render_media(ctx: RestContext, media: Media) -> dict[str, Any]:
    status = _status(ctx, media)
    body: dict[str, Any] = {"id": media.urn, "owner": media.owner, "status": status}
    if media.media_library is not None:
        body["mediaLibraryMetadata"] = media.media_library
    if status == "PROCESSING_FAILED":
        body["processingFailureReason"] = media.failure_reason
    return body


async def get_image(ctx: RestContext) -> Response:
    return json_response(_render_media(ctx, _media_for_key(ctx, "image")))


async def get_document(ctx: RestContext) -> Response:
    return json_response(_render_media(ctx, _media_for_key(ctx, "document")))


async def get_video(ctx: RestContext) -> Response:
    return json_response(_render_media(ctx, _media_for_key(ctx, "video")))


# Videos: multipart upload through pre-signed part URLs, then finalizeUpload.


async def post_videos(ctx: RestContext) -> Response:
    action = ctx.params.text("action")
    if action == "initializeUpload":
        return await _initialize_video(ctx)
    if action == "finalizeUpload":
        return await _finalize_video(ctx)
    raise bad_request("Unsupported action on videos: use initializeUpload or finalizeUpload")


async def _initialize_video(ctx: RestContext) -> Response:
    request = _initialize_request(await ctx.json_body())
    owner = _check_owner(ctx, request.get("owner"), "/initializeUploadRequest/owner")
    size = request.get("fileSizeBytes")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise bad_request("/initializeUploadRequest/fileSizeBytes must be a positive integer")
    if size > MAX_VIDEO_BYTES:
        raise bad_request(
            f"/initializeUploadRequest/fileSizeBytes {size} is over the maximum "
            f"of {MAX_VIDEO_BYTES} bytes"
        )

    sandbox = ctx.sandbox
    urn = f"urn:li:video:{_random_id(sandbox, 'C5F10AQ', 12)}"
    media = Media(
        urn=urn,
        kind="video",
        owner=owner,
        member=ctx.member,
        created_at=ctx.state.now(),
        upload_secret=_secret(sandbox),
        declared_size=size,
        media_library=_media_library(ctx, request),
    )

    base = sandbox.base_url(ctx.request)
    instructions = []
    for index, first in enumerate(range(0, size, VIDEO_PART_SIZE)):
        last = min(first + VIDEO_PART_SIZE, size) - 1
        part = UploadPart(first, last, _secret(sandbox))
        media.parts.append(part)
        instructions.append(
            {
                "uploadUrl": f"{base}/dms-uploads/videos/{media.upload_secret}/parts/{index}"
                f"?sig={part.secret}",
                "firstByte": first,
                "lastByte": last,
            }
        )
    ctx.state.media[urn] = media

    expires = ctx.state.now_ms() + UPLOAD_URL_LIFETIME_MS
    return json_response(
        {
            "value": {
                "uploadUrlsExpireAt": expires,
                "video": urn,
                "uploadInstructions": instructions,
                "uploadToken": "",
            }
        }
    )


async def _finalize_video(ctx: RestContext) -> Response:
    body = await ctx.json_body()
    request = body.get("finalizeUploadRequest")
    if not isinstance(request, dict):
        raise bad_request('The body must be {"finalizeUploadRequest": {...}}')
    urn = request.get("video")
    media = ctx.state.media.get(urn) if isinstance(urn, str) else None
    if media is None or media.kind != "video":
        raise not_found(f"Video {urn!r} does not exist")
    _check_media_access(ctx, media)
    if request.get("uploadToken", None) != "":
        raise bad_request(
            "/finalizeUploadRequest/uploadToken must be the uploadToken returned "
            "by initializeUpload"
        )
    part_ids = request.get("uploadedPartIds")
    if not isinstance(part_ids, list):
        raise bad_request("/finalizeUploadRequest/uploadedPartIds must be a list of ETags")
    missing = [index for index, part in enumerate(media.parts) if part.etag is None]
    if missing:
        raise bad_request(f"Parts {missing} of {urn} have not been uploaded")
    expected = [part.etag for part in media.parts]
    if part_ids != expected:
        raise bad_request(
            "/finalizeUploadRequest/uploadedPartIds must list the ETag of every "
            "uploaded part in the order of the upload instructions"
        )
    if media.processing_started_at is None:
        media.failure_reason = _failure_reason("video", media.head, media.received_bytes)
        media.processing_started_at = ctx.state.now()
    return Response(status_code=200)


# Upload URLs served by the sandbox (not under /rest, no version header).


async def _stream_body(request: Request, limit: int, digest: Any = None) -> tuple[int, bytes]:
    """Read the body chunk by chunk and return (size, first bytes), counting past `limit`."""
    size = 0
    head = bytearray()
    async for chunk in request.stream():
        size += len(chunk)
        if len(head) < HEAD_BYTES:
            head.extend(chunk[: HEAD_BYTES - len(head)])
        if digest is not None and size <= limit:
            digest.update(chunk)
    return size, bytes(head)


def _authorize_upload(request: Request, sandbox: Sandbox, media: Media) -> None:
    token = authenticate(request, sandbox)
    if token.member != media.member:
        raise coded_error(403, "ACCESS_DENIED", "The upload URL belongs to another member", 100)


def _find_by_secret(sandbox: Sandbox, kind: str, secret: str) -> Media:
    for media in sandbox.state.media.values():
        if media.kind == kind and media.upload_secret == secret:
            return media
    raise not_found("Unknown or expired upload URL")


async def _single_upload(request: Request, media: Media, kind: str, limit: int) -> Response:
    sandbox = get_sandbox(request)
    size, head = await _stream_body(request, limit)
    if size > limit:
        media.received_bytes = size
        return error_response(restli_error(413, f"The upload is larger than {limit} bytes"))
    media.received_bytes = size
    media.head = head
    media.failure_reason = _failure_reason(kind, head, size)
    media.processing_started_at = sandbox.state.now()
    return Response(status_code=201)


@upload_router.api_route(
    "/mediaUpload/{asset_id}/{secret}", methods=["PUT", "POST"], include_in_schema=False
)
async def upload_legacy(request: Request, asset_id: str, secret: str) -> Response:
    sandbox = get_sandbox(request)
    media = sandbox.state.media.get(f"urn:li:digitalmediaAsset:{asset_id}")
    try:
        if media is None or media.upload_secret != secret:
            raise not_found("Unknown or expired upload URL")
        _authorize_upload(request, sandbox, media)
    except ApiError as error:
        return error_response(error)
    kind = RECIPES[media.recipe or ""][0]
    return await _single_upload(request, media, kind, MAX_LEGACY_BYTES)


@upload_router.put("/dms-uploads/images/{secret}", include_in_schema=False)
async def upload_image(request: Request, secret: str) -> Response:
    sandbox = get_sandbox(request)
    try:
        media = _find_by_secret(sandbox, "image", secret)
        _authorize_upload(request, sandbox, media)
    except ApiError as error:
        return error_response(error)
    # Accept any size here, because oversized images fail processing like other invalid images.
    return await _single_upload(request, media, "image", MAX_LEGACY_BYTES)


@upload_router.put("/dms-uploads/documents/{secret}", include_in_schema=False)
async def upload_document(request: Request, secret: str) -> Response:
    sandbox = get_sandbox(request)
    try:
        media = _find_by_secret(sandbox, "document", secret)
        _authorize_upload(request, sandbox, media)
    except ApiError as error:
        return error_response(error)
    return await _single_upload(request, media, "document", MAX_DOCUMENT_BYTES)


@upload_router.put("/dms-uploads/videos/{secret}/parts/{index}", include_in_schema=False)
async def upload_video_part(request: Request, secret: str, index: int, sig: str = "") -> Response:
    """Receive one part of a video. The signed URL needs no Authorization header."""
    sandbox = get_sandbox(request)
    try:
        media = _find_by_secret(sandbox, "video", secret)
        if not 0 <= index < len(media.parts) or media.parts[index].secret != sig:
            raise coded_error(403, "ACCESS_DENIED", "Invalid or expired upload signature", 100)
    except ApiError as error:
        return error_response(error)
    part = media.parts[index]
    expected = part.last_byte - part.first_byte + 1
    digest = hashlib.md5(usedforsecurity=False)
    size, head = await _stream_body(request, expected, digest)
    if size != expected:
        return error_response(
            restli_error(
                400,
                f"Part {index} must be exactly {expected} bytes (bytes {part.first_byte}-"
                f"{part.last_byte}), but received {size}",
            )
        )
    if index == 0:
        media.head = head
    part.etag = f"/ambry-video/signedId/{media.urn.rsplit(':', 1)[1]}-{index}-{digest.hexdigest()}"
    media.received_bytes = sum(p.last_byte - p.first_byte + 1 for p in media.parts if p.etag)
    return Response(status_code=200, headers={"ETag": part.etag})


def register(router: RestRouter) -> None:
    router.add("assets", "POST", post_assets, resource="assets", scope="media_write")
    router.add("assets/{key}", "GET", get_asset, resource="assets", scope="media_read")
    router.add("images", "POST", post_images, resource="images", scope="media_write")
    router.add("images/{key}", "GET", get_image, resource="images", scope="media_read")
    router.add("videos", "POST", post_videos, resource="videos", scope="media_write")
    router.add("videos/{key}", "GET", get_video, resource="videos", scope="media_read")
    router.add("documents", "POST", post_documents, resource="documents", scope="media_write")
    router.add("documents/{key}", "GET", get_document, resource="documents", scope="media_read")


def register_legacy(router: RestRouter) -> None:
    """Routes of the unversioned `/v2` API that the sandbox keeps for registerUpload clients."""
    router.add("assets", "POST", post_assets, resource="assets", scope="media_write")
    router.add("assets/{key}", "GET", get_asset, resource="assets", scope="media_read")
