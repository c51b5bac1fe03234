"""Routes for media uploads (images, videos, documents) under an ad account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.assets.multipart import MultipartReader
from app.assets.schemas import Asset, RegisterUpload
from app.assets.service import AssetService
from app.campaigns.router import READ_ERRORS, WRITE_ERRORS
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.idempotency_header import idempotency_key, stored_response
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1/ad-accounts/{account_id}/assets", tags=["assets"])

KeyDep = Annotated[str, Depends(idempotency_key)]
UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "assetId", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["image", "video", "document"]},
                        "assetId": {
                            "type": "string",
                            "description": "Owner organization URN, e.g. "
                            "urn:li:organization:1234 (asset_id is accepted too)",
                        },
                        "fileSize": {
                            "type": "integer",
                            "description": "Bytes; when given, the file "
                            "streams to LinkedIn without being spooled to disk first",
                        },
                        "name": {"type": "string", "description": "Media library name"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Must be the last part",
                        },
                    },
                }
            }
        },
    }
}


def service(request: Request) -> AssetService:
    return request.app.state.assets  # type: ignore[no-any-return]


@router.post(
    "", status_code=201, response_model=Asset, responses=WRITE_ERRORS, openapi_extra=UPLOAD_FORM
)
async def upload_asset(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
    wait: Annotated[
        bool, Query(description="Wait (bounded) until LinkedIn has processed the media")
    ] = True,
) -> JSONResponse:
    """Upload an image, video or document and return its URN for use in an ad.

    The form fields must come before the file part. The file type is checked by its first
    bytes and its size against LinkedIn's limits before anything is sent to LinkedIn.
    """
    reader = MultipartReader(request.stream(), request.headers.get("content-type", ""))
    stored = await service(request).upload(session, workspace, account_id, reader, key, wait=wait)
    return stored_response(stored)


@router.post("/register-upload", response_model=RegisterUpload, responses=WRITE_ERRORS)
async def register_upload(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
    body: Annotated[
        dict[str, Any],
        Body(description='LinkedIn\'s registerUpload body: {"registerUploadRequest": {...}}'),
    ],
) -> JSONResponse:
    """Run LinkedIn's registerUpload with the full body as given (the raw adapter operation)."""
    stored = await service(request).register_upload(session, workspace, account_id, body, key)
    return stored_response(stored)


@router.get("/{urn}", response_model=Asset, responses=READ_ERRORS)
async def get_asset(
    account_id: AccountId,
    urn: str,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> Asset:
    """Show an uploaded asset's processing status (AVAILABLE when ads may use it)."""
    return await service(request).get(session, workspace, account_id, urn)
