"""Media uploads to LinkedIn: the legacy `registerUpload` flow and the Images, Videos and
Documents APIs, with the bytes streamed from a `ByteSource` and never held whole in memory.

Flows (LinkedIn's Marketing API, versioned since 202206):
- `register_upload`: `POST /assets?action=registerUpload` with the owner and a feedshare
  recipe, then one PUT of the bytes to the returned `uploadUrl` (with the bearer token).
- images and documents: `POST /images|/documents?action=initializeUpload`, then one PUT.
- videos: `POST /videos?action=initializeUpload` with the size, one PUT per 4 MiB part to
  pre-signed URLs (no token), then `finalizeUpload` with the parts' ETags in order.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from app.core.errors import FieldError, InvalidInputError, ServiceError
from app.linkedin.client import LinkedInClient, key_path
from app.linkedin.errors import (
    LinkedInTransportError,
    describe_transport_error,
    map_error,
    parse_body,
)
from app.linkedin.payloads import ACCOUNT_URN
from app.linkedin.validation import urn_type

logger = logging.getLogger(__name__)

MediaKind = Literal["image", "video", "document"]
UploadFlow = Literal["images_videos", "register_upload"]

RECIPES: dict[str, str] = {
    "image": "urn:li:digitalmediaRecipe:feedshare-image",
    "video": "urn:li:digitalmediaRecipe:feedshare-video",
}
# LinkedIn's Videos API splits an upload into parts of exactly 4 MiB, the last one shorter.
VIDEO_PART_SIZE = 4_194_304
# Size limits, in bytes.
# NOTE: 5 MiB for images is the single-image ad specification that third parties report;
# 500 MiB for videos and 100 MiB for documents are the Videos and Documents API limits.
MAX_BYTES: dict[str, int] = {
    "image": 5 * 1024 * 1024,
    "video": 500 * 1024 * 1024,
    "document": 100 * 1024 * 1024,
}
# LinkedIn's Images API takes images of fewer than 36,152,320 pixels.
MAX_IMAGE_PIXELS = 36_152_320
# How many leading bytes the file-type check reads (a JPEG's size may sit past its EXIF data).
HEAD_BYTES = 65_536
PUT_CHUNK_BYTES = 1_048_576
TERMINAL_STATUSES = frozenset({"AVAILABLE", "PROCESSING_FAILED"})
# The legacy asset API reports each recipe's status; these mean processing failed.
LEGACY_FAILED = frozenset({"CLIENT_ERROR", "SERVER_ERROR", "INCOMPLETE", "PROCESSING_FAILED"})
MEDIA_RESOURCES = {"image": "images", "video": "videos", "document": "documents"}


class ByteSource(Protocol):
    """Bytes read in order; `read` returns at most `size` bytes and b"" at the end."""

    async def read(self, size: int) -> bytes: ...


@dataclass(frozen=True)
class UploadResult:
    urn: str
    kind: MediaKind
    flow: str
    size: int


# ---- file checks ------------------------------------------------------------------------------


def _image_size(head: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG, GIF or JPEG header, or None when not found."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return int(width), int(height)
    if head.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(head) and head[index] == 0xFF:
            marker = head[index + 1]
            length = struct.unpack(">H", head[index + 2 : index + 4])[0]
            # Start-of-frame markers carry the size; C4, C8 and CC are other tables.
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", head[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + length
    return None


def detect_type(kind: str, head: bytes) -> str | None:
    """Return the media type the magic bytes show for `kind`, or None when they don't match."""
    if kind == "image":
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        if head.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return "image/gif"
        return None
    if kind == "video":
        # An MP4 file starts with an `ftyp` box: a 4-byte size, then the type.
        return "video/mp4" if head[4:8] == b"ftyp" else None
    if kind == "document":
        if head.startswith(b"%PDF-"):
            return "application/pdf"
        if head.startswith(b"PK\x03\x04"):
            return "application/vnd.openxmlformats-officedocument"
        if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            return "application/vnd.ms-office"
        return None
    return None


def check_file(kind: str, head: bytes) -> str:
    """Check the file's type from its first bytes; return its media type or raise 422."""
    media_type = detect_type(kind, head)
    if media_type is None:
        accepted = {
            "image": "PNG, JPEG or GIF",
            "video": "MP4",
            "document": "PDF, PPT, PPTX, DOC or DOCX",
        }[kind]
        raise InvalidInputError(
            f"the file is not a valid {kind}: LinkedIn accepts {accepted} (checked by its first "
            "bytes, not its name)",
            operation="upload_asset",
            fields=[FieldError("file", f"is not {accepted}")],
        )
    if kind == "image":
        size = _image_size(head)
        if size is not None and size[0] * size[1] >= MAX_IMAGE_PIXELS:
            raise InvalidInputError(
                f"the image has {size[0]}x{size[1]} pixels; LinkedIn takes fewer than "
                f"{MAX_IMAGE_PIXELS}",
                operation="upload_asset",
                fields=[FieldError("file", "has too many pixels")],
            )
    return media_type


def check_size(kind: str, size: int) -> None:
    limit = MAX_BYTES[kind]
    if size > limit:
        raise InvalidInputError(
            f"the {kind} is larger than LinkedIn's limit of {limit} bytes",
            operation="upload_asset",
            fields=[FieldError("file", f"is over {limit} bytes")],
        )
    if size == 0:
        raise InvalidInputError(
            "the file is empty", operation="upload_asset", fields=[FieldError("file", "is empty")]
        )


# ---- status -----------------------------------------------------------------------------------


def media_kind(urn: str) -> str | None:
    """Return image, video, document or asset (legacy) for a media URN, else None."""
    kinds = {
        "image": "image",
        "video": "video",
        "document": "document",
        "digitalmediaAsset": "asset",
    }
    return kinds.get(urn_type(urn) or "")


def _status_path(urn: str) -> str:
    kind = media_kind(urn)
    if kind == "asset":
        return f"/assets/{urn.rsplit(':', 1)[1]}"
    if kind is None:
        raise InvalidInputError(
            f"{urn!r} is not an image, video, document or asset URN", operation="get_asset_status"
        )
    return key_path(MEDIA_RESOURCES[kind], urn)


def normalise_status(body: Mapping[str, Any]) -> str:
    """Map LinkedIn's media status to WAITING_UPLOAD, PROCESSING, AVAILABLE or PROCESSING_FAILED."""
    if "recipes" in body:
        recipes = body.get("recipes") or [{}]
        status = str((recipes[0] or {}).get("status") or "PROCESSING")
        return "PROCESSING_FAILED" if status in LEGACY_FAILED else status
    return str(body.get("status") or "PROCESSING")


async def read_status(
    linkedin: LinkedInClient, urn: str, *, token: str, scope: str
) -> dict[str, Any]:
    """Read a media entity: `status` is normalised and `raw` is LinkedIn's response body."""
    body = await linkedin.get("get_asset_status", _status_path(urn), token=token, scope=scope)
    raw = dict(body or {})
    return {"status": normalise_status(raw), "raw": raw}


async def wait_until_processed(
    linkedin: LinkedInClient,
    urn: str,
    *,
    token: str,
    scope: str,
    max_wait_seconds: float,
    interval: float,
) -> dict[str, Any]:
    """Poll until AVAILABLE or PROCESSING_FAILED, or until `max_wait_seconds` have passed."""
    deadline = time.monotonic() + max_wait_seconds
    while True:
        state = await read_status(linkedin, urn, token=token, scope=scope)
        if state["status"] in TERMINAL_STATUSES or time.monotonic() >= deadline:
            return state
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# ---- uploads ----------------------------------------------------------------------------------


def register_upload_body(owner: str, kind: str) -> dict[str, Any]:
    return {
        "registerUploadRequest": {
            "owner": owner,
            "recipes": [RECIPES[kind]],
            "serviceRelationships": [
                {"identifier": "urn:li:userGeneratedContent", "relationshipType": "OWNER"}
            ],
            "supportedUploadMechanism": ["SYNCHRONOUS_UPLOAD"],
        }
    }


def upload_request_of(value: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """Return the upload URL and headers from a registerUpload response's `value`."""
    mechanism = value.get("uploadMechanism") or {}
    request = mechanism.get("com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest") or {}
    url = request.get("uploadUrl")
    if not url:
        raise ServiceError(
            "LinkedIn's registerUpload response has no uploadUrl", operation="register_upload"
        )
    return str(url), {str(key): str(item) for key, item in (request.get("headers") or {}).items()}


class UploadBody:
    """The body of one PUT: exactly `length` bytes of `source`, checked against the file's end.

    When the file ends early, or has bytes after its final part (`final_part`), iteration raises
    `InvalidInputError` before the final chunk is sent, so LinkedIn never receives a complete
    part. The HTTP client wraps that exception in a transport error, so the error is also kept
    in `error` for `Uploader.put` to raise in its place.
    """

    def __init__(self, source: ByteSource, length: int, *, final_part: bool) -> None:
        self.source = source
        self.length = length
        self.final_part = final_part
        self.error: InvalidInputError | None = None

    def _fail(self, message: str, field_message: str) -> InvalidInputError:
        self.error = InvalidInputError(
            message,
            operation="upload_asset",
            fields=[FieldError("file_size", field_message)],
        )
        return self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        remaining = self.length
        while remaining > 0:
            chunk = await self.source.read(min(remaining, PUT_CHUNK_BYTES))
            if not chunk:
                raise self._fail(
                    f"the file ended {remaining} bytes before the size that fileSize declares; "
                    "send the file's exact size in bytes",
                    "is larger than the file",
                )
            remaining -= len(chunk)
            if remaining == 0 and self.final_part and await self.source.read(1):
                raise self._fail(
                    "the file has more bytes than fileSize declares; send the file's exact "
                    "size in bytes",
                    "is smaller than the file",
                )
            yield chunk


class Uploader:
    """Runs one upload flow against LinkedIn with one access token."""

    def __init__(
        self, linkedin: LinkedInClient, http: httpx.AsyncClient, *, put_timeout_seconds: float
    ) -> None:
        self.linkedin = linkedin
        self.http = http
        self.put_timeout = httpx.Timeout(30.0, read=put_timeout_seconds)

    async def put(
        self,
        operation: str,
        url: str,
        source: ByteSource,
        length: int,
        *,
        token: str | None,
        headers: Mapping[str, str] | None = None,
        final_part: bool = True,
    ) -> httpx.Response:
        """PUT `length` bytes of `source` to an upload URL, streamed; raise on a non-2xx.

        With `final_part`, the source must end exactly after these `length` bytes.
        """
        request_headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(length),
            **(headers or {}),
        }
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        body = UploadBody(source, length, final_part=final_part)
        try:
            response = await self.http.put(
                url,
                content=body,
                headers=request_headers,
                timeout=self.put_timeout,
            )
        except httpx.TransportError as error:
            if body.error is not None:
                raise body.error from None
            raise LinkedInTransportError(
                f"LinkedIn Ads {operation}: upload failed: {describe_transport_error(error)}",
                operation=operation,
            ) from error
        if not 200 <= response.status_code < 300:
            raise map_error(
                operation,
                urlsplit(url).path,
                response.status_code,
                response.headers,
                parse_body(response.content),
            )
        return response

    async def register_upload(
        self, body: Mapping[str, Any], *, token: str, scope: str, idempotency_key: str
    ) -> dict[str, Any]:
        """Send LinkedIn's registerUpload body as it is and return the response's `value`."""
        value = await self.linkedin.action(
            "register_upload",
            "/assets",
            "registerUpload",
            body,
            token=token,
            scope=scope,
            idempotency_key=idempotency_key,
        )
        return dict(value or {})

    async def upload(
        self,
        *,
        kind: MediaKind,
        flow: UploadFlow,
        owner: str,
        account_id: int,
        source: ByteSource,
        size: int,
        name: str,
        token: str,
        idempotency_key: str,
    ) -> UploadResult:
        scope = str(account_id)
        if kind == "document":
            urn = await self._single(
                kind, owner, account_id, source, size, name, token, idempotency_key
            )
            return UploadResult(urn, kind, "documents", size)
        if flow == "register_upload":
            value = await self.register_upload(
                register_upload_body(owner, kind),
                token=token,
                scope=scope,
                idempotency_key=idempotency_key,
            )
            url, headers = upload_request_of(value)
            await self.put("upload_asset", url, source, size, token=token, headers=headers)
            return UploadResult(str(value["asset"]), kind, flow, size)
        if kind == "image":
            urn = await self._single(
                kind, owner, account_id, source, size, name, token, idempotency_key
            )
            return UploadResult(urn, kind, "images", size)
        urn = await self._video(owner, account_id, source, size, name, token, idempotency_key)
        return UploadResult(urn, kind, "videos", size)

    @staticmethod
    def _library(account_id: int, name: str) -> dict[str, Any]:
        # Registers the media in the ad account's media library, as ads need.
        return {"associatedAccount": ACCOUNT_URN.format(account_id), "assetName": name}

    async def _single(
        self,
        kind: MediaKind,
        owner: str,
        account_id: int,
        source: ByteSource,
        size: int,
        name: str,
        token: str,
        idempotency_key: str,
    ) -> str:
        resource = MEDIA_RESOURCES[kind]
        request = {
            "initializeUploadRequest": {
                "owner": owner,
                "mediaLibraryMetadata": self._library(account_id, name),
            }
        }
        value = await self.linkedin.action(
            f"initialize_{kind}_upload",
            f"/{resource}",
            "initializeUpload",
            request,
            token=token,
            scope=str(account_id),
            idempotency_key=idempotency_key,
        )
        await self.put(f"upload_{kind}", str(value["uploadUrl"]), source, size, token=token)
        return str(value[kind])

    async def _video(
        self,
        owner: str,
        account_id: int,
        source: ByteSource,
        size: int,
        name: str,
        token: str,
        idempotency_key: str,
    ) -> str:
        scope = str(account_id)
        request = {
            "initializeUploadRequest": {
                "owner": owner,
                "fileSizeBytes": size,
                "uploadCaptions": False,
                "uploadThumbnail": False,
                "mediaLibraryMetadata": self._library(account_id, name),
            }
        }
        value = await self.linkedin.action(
            "initialize_video_upload",
            "/videos",
            "initializeUpload",
            request,
            token=token,
            scope=scope,
            idempotency_key=idempotency_key,
        )
        video = str(value["video"])
        etags = []
        expected = 0
        instructions = value.get("uploadInstructions") or []
        for index, instruction in enumerate(instructions):
            first, last = int(instruction["firstByte"]), int(instruction["lastByte"])
            if first != expected:
                raise ServiceError(
                    f"LinkedIn's upload instructions for {video} skip bytes {expected}-{first - 1}",
                    operation="upload_video",
                )
            # The part URLs are pre-signed, so they get no Authorization header.
            response = await self.put(
                "upload_video",
                str(instruction["uploadUrl"]),
                source,
                last - first + 1,
                token=None,
                final_part=index == len(instructions) - 1,
            )
            etags.append(response.headers.get("etag", ""))
            expected = last + 1
        if expected != size:
            raise ServiceError(
                f"LinkedIn's upload instructions for {video} cover {expected} of {size} bytes",
                operation="upload_video",
            )
        await self.linkedin.action(
            "finalize_video_upload",
            "/videos",
            "finalizeUpload",
            {
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": value.get("uploadToken", ""),
                    "uploadedPartIds": etags,
                }
            },
            token=token,
            scope=scope,
            idempotency_key=idempotency_key,
        )
        logger.info("video.uploaded", extra={"video": video, "parts": len(etags), "bytes": size})
        return video
