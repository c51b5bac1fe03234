"""Asset uploads: the multipart request checked locally, then LinkedIn's two-step flow.

Every local check (owner, kind, file type by its first bytes, declared size) runs before the
idempotency key is claimed and before anything goes upstream. With a declared `fileSize` the
file streams from the request to LinkedIn. Without one it is first spooled to a temporary file,
because LinkedIn's video flow needs the exact size up front and the size limit must be checked
before the upload starts.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import IO, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.assets.multipart import (
    FileSource,
    MultipartReader,
    PartSource,
    drain,
    invalid_form,
    spool,
)
from app.assets.schemas import Asset, AssetKind
from app.connections import repository as connections
from app.connections.models import AdAccount
from app.connections.tokens import TokenService, call_with_token
from app.core.errors import FieldError, NotFoundError, ServiceError, UpstreamRejectedError
from app.core.settings import Settings
from app.idempotency.service import IdempotencyStore, StoredResponse
from app.linkedin import assets as upload
from app.linkedin import dryrun
from app.linkedin.client import LinkedInClient
from app.linkedin.payloads import (
    DIGITAL_MEDIA_ASSET_URN,
    DOCUMENT_URN,
    DRY_RUN_PREFIX,
    IMAGE_URN,
    VIDEO_URN,
    id_from_urn,
    is_dry_run_id,
)
from app.linkedin.validation import urn_type

logger = logging.getLogger(__name__)

KIND = "asset"
OWNER_MISSING = (
    "registerUpload returns 400 with owner empty — the upload owner URN was not derivable from "
    "the supplied DTO. Pass the organisation URN (e.g. urn:li:organization:1234) in the DTO's "
    "asset_id field, or call the register_upload adapter operation directly with the full body."
)
FIELD_NAMES = {
    "kind": "kind",
    "assetid": "asset_id",
    "asset_id": "asset_id",
    "filesize": "file_size",
    "file_size": "file_size",
    "name": "name",
}


class UploadOwnerMissingError(UpstreamRejectedError):
    """The upload has no owner URN, which LinkedIn's registerUpload rejects with 400."""

    status_code = 400
    code = "upload_owner_missing"


def owner_missing(operation: str, error: ServiceError | None = None) -> UploadOwnerMissingError:
    return UploadOwnerMissingError(
        f"LinkedIn Ads {operation}: {OWNER_MISSING}",
        operation=operation,
        fields=[
            FieldError("asset_id", "is missing: pass the organization URN that owns the upload")
        ],
        upstream=error.upstream if error else None,
    )


@dataclass
class UploadForm:
    kind: AssetKind
    owner: str
    file_size: int | None
    name: str
    filename: str | None


def _operation(flow: str, kind: str) -> str:
    if kind == "document":
        return "initialize_document_upload"
    return "register_upload" if flow == "register_upload" else f"initialize_{kind}_upload"


async def read_form(reader: MultipartReader, flow: str) -> UploadForm:
    """Read the fields before the file part and check them; the reader stops at the file."""
    fields: dict[str, str] = {}
    filename: str | None = None
    while True:
        part = await reader.next_part()
        if part is None:
            raise invalid_form("the form has no file part: send the bytes as `file`", "file")
        if part.name == "file":
            filename = part.filename
            break
        key = FIELD_NAMES.get(part.name.replace("-", "_").lower())
        if key is None:
            raise invalid_form(
                f"unknown form field {part.name!r}; expected kind, assetId, "
                "fileSize, name and file",
                part.name,
            )
        fields[key] = await reader.read_text(part.name)

    kind_text = fields.get("kind", "")
    if kind_text not in {item.value for item in AssetKind}:
        raise invalid_form(
            "kind must be image, video or document and come before the file part", "kind"
        )
    kind = AssetKind(kind_text)
    owner = fields.get("asset_id", "")
    if not owner:
        raise owner_missing(_operation(flow, kind))
    if urn_type(owner) not in ("organization", "person"):
        raise invalid_form(
            f"asset_id {owner!r} must be an organization URN such as "
            "urn:li:organization:1234 (or a person URN)",
            "asset_id",
        )
    file_size = None
    if fields.get("file_size"):
        if not fields["file_size"].isdigit():
            raise invalid_form("fileSize must be a whole number of bytes", "file_size")
        file_size = int(fields["file_size"])
    return UploadForm(kind, owner, file_size, fields.get("name") or filename or "upload", filename)


class AssetService:
    def __init__(
        self,
        *,
        settings: Settings,
        linkedin: LinkedInClient,
        http: httpx.AsyncClient,
        tokens: TokenService,
        idempotency: IdempotencyStore,
    ) -> None:
        self.settings = settings
        self.linkedin = linkedin
        self.tokens = tokens
        self.idempotency = idempotency
        self.uploader = upload.Uploader(
            linkedin, http, put_timeout_seconds=settings.linkedin_ads_upload_timeout_seconds
        )

    @property
    def live(self) -> bool:
        return self.settings.linkedin_ads_live_mode

    async def _account(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> AdAccount:
        account = await connections.get_ad_account(session, workspace_id, account_id)
        if account is None:
            raise NotFoundError(f"ad account {account_id} not found in this workspace")
        return account

    # ---- upload ----------------------------------------------------------------------------

    async def upload(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        reader: MultipartReader,
        idempotency_key: str,
        *,
        wait: bool,
    ) -> StoredResponse:
        flow = self.settings.linkedin_ads_upload_flow
        form = await read_form(reader, flow)
        source = PartSource(reader)
        media_type = upload.check_file(form.kind, await source.peek(upload.HEAD_BYTES))
        if form.file_size is not None:
            upload.check_size(form.kind, form.file_size)
        request = {
            "kind": form.kind.value,
            "owner": form.owner,
            "fileSize": form.file_size,
            "name": form.name,
            "filename": form.filename,
            "wait": wait,
        }

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            await self._account(session, workspace_id, account_id)
            if not self.live:
                return await self._dry_run(
                    session, workspace_id, account_id, form, source, media_type, idempotency_key
                )
            return await self._upload_live(
                session, workspace_id, account_id, form, source, media_type, idempotency_key, wait
            )

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation="upload_asset",
            target=f"{account_id}",
            body=request,
            write=write,
        )

    async def _dry_run(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        form: UploadForm,
        source: PartSource,
        media_type: str,
        idempotency_key: str,
    ) -> tuple[int, dict[str, Any]]:
        size = await drain(source, upload.MAX_BYTES[form.kind])
        self._check_received(form, size)
        flow = self.settings.linkedin_ads_upload_flow
        synthetic = dryrun.synthetic_id(workspace_id, idempotency_key, KIND)
        if form.kind == AssetKind.DOCUMENT:
            urn, flow_name = DOCUMENT_URN.format(synthetic), "documents"
        elif flow == "register_upload":
            urn, flow_name = DIGITAL_MEDIA_ASSET_URN.format(synthetic), flow
        elif form.kind == AssetKind.IMAGE:
            urn, flow_name = IMAGE_URN.format(synthetic), "images"
        else:
            urn, flow_name = VIDEO_URN.format(synthetic), "videos"
        asset = Asset(
            urn=urn,
            ad_account_id=str(account_id),
            kind=form.kind.value,
            flow=flow_name,
            status="AVAILABLE",
            owner=form.owner,
            size=size,
            media_type=media_type,
            dry_run=True,
        )
        body = asset.model_dump(mode="json", by_alias=True)
        await dryrun.save(
            session,
            workspace_id=workspace_id,
            account_id=account_id,
            kind=KIND,
            urn=urn,
            body=body,
            operation="upload_asset",
        )
        return 201, body

    @staticmethod
    def _check_received(form: UploadForm, size: int) -> None:
        upload.check_size(form.kind, size)
        if form.file_size is not None and size != form.file_size:
            raise invalid_form(
                f"the file has {size} bytes but fileSize is {form.file_size}; send the exact size",
                "file_size",
            )

    async def _upload_live(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        form: UploadForm,
        source: PartSource,
        media_type: str,
        idempotency_key: str,
        wait: bool,
    ) -> tuple[int, dict[str, Any]]:
        access = await self.tokens.access_for_account(session, workspace_id, account_id)
        flow = self.settings.linkedin_ads_upload_flow
        spooled: IO[bytes] | None = None
        try:
            if form.file_size is None:
                spooled, size = await spool(source, upload.MAX_BYTES[form.kind])
                self._check_received(form, size)
                stream: upload.ByteSource = FileSource(spooled, size)
            else:
                size, stream = form.file_size, source
            result = await self.uploader.upload(
                kind=form.kind.value,
                flow=flow,
                owner=form.owner,
                account_id=account_id,
                source=stream,
                size=size,
                name=form.name,
                token=access.access_token,
                idempotency_key=idempotency_key,
            )
        except UpstreamRejectedError as error:
            if error.upstream is not None and "owner" in (error.upstream.message or "").lower():
                raise owner_missing(_operation(flow, form.kind), error) from None
            raise
        finally:
            if spooled is not None:
                spooled.close()
        logger.info(
            "asset.uploaded",
            extra={
                "ad_account_id": account_id,
                "asset": result.urn,
                "flow": result.flow,
                "bytes": result.size,
            },
        )
        status, reason = "PROCESSING", None
        if wait:
            state = await upload.wait_until_processed(
                self.linkedin,
                result.urn,
                token=access.access_token,
                scope=str(account_id),
                max_wait_seconds=self.settings.linkedin_ads_upload_poll_timeout_seconds,
                interval=self.settings.linkedin_ads_upload_poll_interval_seconds,
            )
            status, reason = state["status"], state["raw"].get("processingFailureReason")
        asset = Asset(
            urn=result.urn,
            ad_account_id=str(account_id),
            kind=result.kind,
            flow=result.flow,
            status=status,
            owner=form.owner,
            size=result.size,
            media_type=media_type,
            failure_reason=reason,
        )
        return 201, asset.model_dump(mode="json", by_alias=True)

    # ---- status ----------------------------------------------------------------------------

    async def get(
        self, session: AsyncSession, workspace_id: str, account_id: int, urn: str
    ) -> Asset:
        await self._account(session, workspace_id, account_id)
        if upload.media_kind(urn) is None:
            raise NotFoundError(
                f"asset {urn!r} not found: give its image, video, document or "
                "digitalmediaAsset URN",
                operation="get_asset_status",
            )
        if is_dry_run_id(id_from_urn(urn)):
            body = await dryrun.load(
                session, workspace_id=workspace_id, account_id=account_id, urn=urn
            )
            if body is None:
                raise NotFoundError(f"dry-run asset {urn} not found", operation="get_asset_status")
            return Asset.model_validate(body)
        access = await self.tokens.access_for_account(session, workspace_id, account_id)
        state = await call_with_token(
            self.tokens,
            access,
            lambda token: upload.read_status(
                self.linkedin, urn, token=token, scope=str(account_id)
            ),
        )
        raw = state["raw"]
        kind = upload.media_kind(urn)
        return Asset(
            urn=urn,
            ad_account_id=str(account_id),
            kind=None if kind == "asset" else kind,
            status=state["status"],
            owner=raw.get("owner"),
            failure_reason=raw.get("processingFailureReason"),
        )

    # ---- the raw registerUpload operation --------------------------------------------------

    async def register_upload(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        body: dict[str, Any],
        idempotency_key: str,
    ) -> StoredResponse:
        """Send LinkedIn's registerUpload body as given, or in a dry run check it and respond."""
        operation = "register_upload"
        request = body.get("registerUploadRequest")
        if not isinstance(request, dict):
            raise invalid_form(
                'the body must be {"registerUploadRequest": {...}}', "registerUploadRequest"
            )
        if not str(request.get("owner") or "").strip():
            raise owner_missing(operation)
        if urn_type(request["owner"]) not in ("organization", "person"):
            raise invalid_form(
                "registerUploadRequest.owner must be an organization or person URN",
                "registerUploadRequest.owner",
            )
        recipes = request.get("recipes")
        if (
            not isinstance(recipes, list)
            or len(recipes) != 1
            or recipes[0] not in upload.RECIPES.values()
        ):
            raise invalid_form(
                "registerUploadRequest.recipes must list one of "
                + ", ".join(upload.RECIPES.values()),
                "registerUploadRequest.recipes",
            )

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            await self._account(session, workspace_id, account_id)
            if not self.live:
                digest = hashlib.sha256(f"{workspace_id}\n{idempotency_key}".encode()).hexdigest()
                urn = DIGITAL_MEDIA_ASSET_URN.format(DRY_RUN_PREFIX + digest[:16])
                value = {
                    "uploadMechanism": {
                        "com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest": {
                            "headers": {},
                            "uploadUrl": None,
                        }
                    },
                    "asset": urn,
                }
                dryrun.count_write(operation)
                return 200, {"value": value, "dryRun": True}
            access = await self.tokens.access_for_account(session, workspace_id, account_id)
            try:
                value = await call_with_token(
                    self.tokens,
                    access,
                    lambda token: self.uploader.register_upload(
                        body, token=token, scope=str(account_id), idempotency_key=idempotency_key
                    ),
                )
            except UpstreamRejectedError as error:
                if error.upstream is not None and "owner" in (error.upstream.message or "").lower():
                    raise owner_missing(operation, error) from None
                raise
            return 200, {"value": value, "dryRun": False}

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}",
            body=body,
            write=write,
        )
