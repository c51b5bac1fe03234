"""Asset DTOs: uploaded images, videos and documents that ads reference by URN."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import Field

from app.core.schemas import Schema


class AssetKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"


class Asset(Schema):
    urn: str = Field(
        description="urn:li:image:..., urn:li:video:..., urn:li:document:... or "
        "urn:li:digitalmediaAsset:... (registerUpload flow)"
    )
    ad_account_id: str
    kind: str | None = None
    flow: str | None = Field(
        default=None, description="register_upload, images, videos or documents"
    )
    status: str = Field(description="WAITING_UPLOAD, PROCESSING, AVAILABLE or PROCESSING_FAILED")
    owner: str | None = None
    size: int | None = Field(default=None, description="Bytes")
    media_type: str | None = None
    failure_reason: str | None = None
    dry_run: bool = False


class RegisterUpload(Schema):
    """LinkedIn's registerUpload response (`value`), as LinkedIn sent it, plus `dryRun`."""

    value: dict[str, Any]
    dry_run: bool = False
