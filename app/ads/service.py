"""Ads (LinkedIn creatives): list, get, create, update, pause, resume, archive."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ads.schemas import Ad, AdCreate, AdUpdate, SettableStatus
from app.connections import repository as connections
from app.connections.models import AdAccount
from app.connections.tokens import AccountAccess, TokenService, call_with_token
from app.core.errors import NotFoundError, ServiceError, UpstreamRejectedError
from app.core.settings import Settings
from app.idempotency.service import (
    IdempotencyStore,
    StoredResponse,
    claimed_urns,
    created_since,
)
from app.linkedin import assets as media
from app.linkedin import creatives as mapping
from app.linkedin import dryrun
from app.linkedin.client import LinkedInClient, account_path, created_id
from app.linkedin.errors import LinkedInServerError, LinkedInTransportError
from app.linkedin.payloads import CAMPAIGN_URN, id_from_urn, is_dry_run_id
from app.linkedin.restli import creatives_criteria

logger = logging.getLogger(__name__)

KIND = "creative"
# LinkedIn's creatives finder returns at most 100 per page.
PAGE_SIZE = 100


def with_dto_fields(error: ServiceError) -> ServiceError:
    if isinstance(error, UpstreamRejectedError) and error.fields:
        error.fields = mapping.to_dto_fields(error.fields)
    return error


class AdService:
    def __init__(
        self,
        *,
        settings: Settings,
        linkedin: LinkedInClient,
        tokens: TokenService,
        idempotency: IdempotencyStore,
    ) -> None:
        self.settings = settings
        self.linkedin = linkedin
        self.tokens = tokens
        self.idempotency = idempotency

    @property
    def live(self) -> bool:
        return self.settings.linkedin_ads_live_mode

    @property
    def api_version(self) -> str:
        return self.settings.linkedin_ads_api_version

    async def _account(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> AdAccount:
        account = await connections.get_ad_account(session, workspace_id, account_id)
        if account is None:
            raise NotFoundError(f"ad account {account_id} not found in this workspace")
        return account

    async def _access(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> AccountAccess:
        return await self.tokens.access_for_account(session, workspace_id, account_id)

    # ---- reads (always upstream) -----------------------------------------------------------

    async def list(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_set_id: str | None = None,
        statuses: list[str] | None = None,
    ) -> list[Ad]:
        """List every ad of the account, across all pages, optionally of one ad set."""
        access = await self._access(session, workspace_id, account_id)
        campaigns = [CAMPAIGN_URN.format(mapping.campaign_id_of(ad_set_id))] if ad_set_id else None
        params = creatives_criteria(campaigns=campaigns, intended_statuses=statuses)

        async def call(token: str) -> list[dict[str, Any]]:
            return await self.linkedin.find_all(
                "list_creatives",
                account_path(account_id, "creatives"),
                token=token,
                scope=str(account_id),
                params=params,
                page_size=PAGE_SIZE,
                finder_header=True,
            )

        elements = await call_with_token(self.tokens, access, call)
        return [mapping.to_dto(element, account_id) for element in elements]

    async def _read(self, access: AccountAccess, urn: str, operation: str) -> dict[str, Any]:
        async def call(token: str) -> dict[str, Any]:
            body = await self.linkedin.get(
                operation,
                account_path(access.account_id, "creatives", urn),
                token=token,
                scope=str(access.account_id),
            )
            return dict(body or {})

        return await call_with_token(self.tokens, access, call)

    async def get(
        self, session: AsyncSession, workspace_id: str, account_id: int, ad_id: str
    ) -> Ad:
        urn = mapping.creative_urn_of(ad_id)
        if is_dry_run_id(id_from_urn(urn)):
            await self._account(session, workspace_id, account_id)
            entity = await dryrun.load(
                session, workspace_id=workspace_id, account_id=account_id, urn=urn
            )
            if entity is None:
                raise NotFoundError(f"dry-run ad {ad_id} not found")
            return mapping.to_dto(entity, account_id, dry_run=True)
        self._check_urn(urn, "get_creative")
        access = await self._access(session, workspace_id, account_id)
        return mapping.to_dto(await self._read(access, urn, "get_creative"), account_id)

    @staticmethod
    def _check_urn(urn: str, operation: str) -> None:
        if not id_from_urn(urn).isdigit() or not urn.startswith("urn:li:sponsoredCreative:"):
            raise NotFoundError(
                f"ad {urn!r} not found: give a number or urn:li:sponsoredCreative:<number>",
                operation=operation,
            )

    async def _ad_set(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        campaign_urn: str,
        operation: str,
    ) -> dict[str, Any] | None:
        campaign_id = mapping.campaign_id_of(campaign_urn)
        if is_dry_run_id(campaign_id):
            return await dryrun.load(
                session,
                workspace_id=workspace_id,
                account_id=account_id,
                urn=CAMPAIGN_URN.format(campaign_id),
            )
        if not campaign_id.isdigit():
            return None
        access = await self._access(session, workspace_id, account_id)

        async def call(token: str) -> dict[str, Any]:
            body = await self.linkedin.get(
                operation,
                account_path(account_id, "adCampaigns", int(campaign_id)),
                token=token,
                scope=str(account_id),
            )
            return dict(body or {})

        try:
            return await call_with_token(self.tokens, access, call)
        except NotFoundError:
            return None

    async def _media_exists(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        media_urn: str | None,
    ) -> bool | None:
        if media_urn is None or media.media_kind(media_urn) is None:
            return None
        if is_dry_run_id(id_from_urn(media_urn)):
            found = await dryrun.load(
                session, workspace_id=workspace_id, account_id=account_id, urn=media_urn
            )
            return found is not None
        access = await self._access(session, workspace_id, account_id)
        try:
            await call_with_token(
                self.tokens,
                access,
                lambda token: media.read_status(
                    self.linkedin, media_urn, token=token, scope=str(account_id)
                ),
            )
        except NotFoundError:
            return False
        return True

    # ---- writes ----------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: AdCreate,
        idempotency_key: str,
    ) -> StoredResponse:
        operation = "create_creative"

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            account = await self._account(session, workspace_id, account_id)
            payload = mapping.build_create_payload(dto, account_id, account.reference)
            if not self.live:
                campaign = await self._ad_set(
                    session, workspace_id, account_id, payload["campaign"], operation
                )
                exists = await self._media_exists(
                    session, workspace_id, account_id, dto.content.media_urn
                )
                mapping.check_create(
                    payload,
                    campaign=campaign,
                    api_version=self.api_version,
                    media_exists=exists,
                    operation=operation,
                )
                creative_id = dryrun.synthetic_id(workspace_id, idempotency_key, KIND)
                entity = mapping.synthesize(payload, creative_id, account_id, test=account.test)
                await dryrun.save(
                    session,
                    workspace_id=workspace_id,
                    account_id=account_id,
                    kind=KIND,
                    urn=entity["id"],
                    body=entity,
                    operation=operation,
                )
                return 201, self._body(mapping.to_dto(entity, account_id, dry_run=True))

            access = await self._access(session, workspace_id, account_id)
            since = created_since(datetime.now(UTC), resumed)
            try:
                if resumed:
                    urn = await self._find_created(session, access, payload, since)
                    if urn is None:
                        urn = await self._send_create(
                            session, access, payload, idempotency_key, since
                        )
                else:
                    urn = await self._send_create(session, access, payload, idempotency_key, since)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            try:
                entity = await self._read(access, urn, operation)
            except ServiceError as error:
                # The creative exists now, so respond with what was sent and keep the key stored.
                logger.warning(
                    "creative.read_after_create_failed",
                    extra={"ad_account_id": account_id, "creative": urn, "error": error.message},
                )
                entity = {**payload, "id": urn}
            logger.info("creative.created", extra={"ad_account_id": account_id, "creative": urn})
            return 201, self._body(mapping.to_dto(entity, account_id))

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}",
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
        )

    async def _send_create(
        self,
        session: AsyncSession,
        access: AccountAccess,
        payload: dict[str, Any],
        idempotency_key: str,
        since: datetime,
    ) -> str:
        """Create the creative: a plain CREATE, or `?action=createInline` for inline content."""
        path = account_path(access.account_id, "creatives")
        scope = str(access.account_id)

        async def find_existing() -> str | None:
            return await self._find_created(session, access, payload, since)

        if "inlineContent" not in payload:

            async def create(token: str) -> str:
                return await self.linkedin.create(
                    "create_creative",
                    path,
                    payload,
                    token=token,
                    scope=scope,
                    idempotency_key=idempotency_key,
                    find_existing=find_existing,
                )

            return await call_with_token(self.tokens, access, create)

        async def create_inline(token: str) -> str:
            response = await self.linkedin.send(
                "create_creative",
                "POST",
                path,
                token=token,
                scope=scope,
                params={"action": "createInline"},
                json={"creative": payload},
                restli_method="ACTION",
                idempotency_key=idempotency_key,
                write=True,
            )
            value = (response.body or {}).get("value") if isinstance(response.body, dict) else None
            if isinstance(value, dict) and value.get("creative"):
                return str(value["creative"])
            return created_id(response)

        try:
            return await call_with_token(self.tokens, access, create_inline)
        except (LinkedInTransportError, LinkedInServerError) as error:
            if not error.sent:
                raise
            found = await find_existing()
            if found is None:
                raise
            logger.info("creative.found_after_unknown_outcome", extra={"creative": found})
            return found

    async def _find_created(
        self,
        session: AsyncSession,
        access: AccountAccess,
        payload: dict[str, Any],
        since: datetime,
    ) -> str | None:
        """Look for a creative this request may already have made in its ad set.

        Creatives that another request already returned are skipped.

        NOTE: an inline creative without a name is matched by ad set and creation time only,
        so a concurrent create in the same ad set could be taken for it.
        """
        params = creatives_criteria(campaigns=[payload["campaign"]], sort_order="DESCENDING")
        elements = await self.linkedin.find_all(
            "find_creative",
            account_path(access.account_id, "creatives"),
            token=access.access_token,
            scope=str(access.account_id),
            params=params,
            page_size=PAGE_SIZE,
            finder_header=True,
            max_pages=2,
        )
        since_ms = int(since.timestamp() * 1000)
        reference = (payload.get("content") or {}).get("reference")
        candidates = []
        for element in elements:
            if int(element.get("createdAt") or 0) < since_ms:
                continue
            if payload.get("name") is not None and element.get("name") != payload["name"]:
                continue
            element_reference = (element.get("content") or {}).get("reference")
            if reference is not None and element_reference != reference:
                continue
            candidates.append(str(element["id"]))
        taken = await claimed_urns(session, candidates)
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        return None

    async def update(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_id: str,
        dto: AdUpdate,
        idempotency_key: str,
        operation: str = "update_creative",
    ) -> StoredResponse:
        urn = mapping.creative_urn_of(ad_id)
        changes = mapping.build_patch(dto)

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            await self._account(session, workspace_id, account_id)
            if is_dry_run_id(id_from_urn(urn)):
                current = await dryrun.load(
                    session, workspace_id=workspace_id, account_id=account_id, urn=urn
                )
                if current is None:
                    raise NotFoundError(f"dry-run ad {ad_id} not found", operation=operation)
                mapping.check_update(changes, current, self.api_version, operation)
                updated = mapping.apply_patch(current, changes)
                await dryrun.save(
                    session,
                    workspace_id=workspace_id,
                    account_id=account_id,
                    kind=KIND,
                    urn=urn,
                    body=updated,
                    operation=operation,
                )
                return 200, self._body(mapping.to_dto(updated, account_id, dry_run=True))
            self._check_urn(urn, operation)

            access = await self._access(session, workspace_id, account_id)
            try:
                current = await self._read(access, urn, operation)
                if not self.live:
                    mapping.check_update(changes, current, self.api_version, operation)
                    dryrun.count_write(operation)
                    updated = mapping.apply_patch(current, changes)
                    return 200, self._body(mapping.to_dto(updated, account_id, dry_run=True))

                async def call(token: str) -> None:
                    await self.linkedin.partial_update(
                        operation,
                        account_path(account_id, "creatives", urn),
                        changes,
                        token=token,
                        scope=str(account_id),
                        idempotency_key=idempotency_key,
                    )

                await call_with_token(self.tokens, access, call)
                entity = await self._read(access, urn, operation)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            return 200, self._body(mapping.to_dto(entity, account_id))

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}/{urn}",
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
        )

    async def set_status(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_id: str,
        status: SettableStatus,
        operation: str,
        idempotency_key: str,
    ) -> StoredResponse:
        return await self.update(
            session,
            workspace_id,
            account_id,
            ad_id,
            AdUpdate(status=status),
            idempotency_key,
            operation,
        )

    @staticmethod
    def _body(ad: Ad) -> dict[str, Any]:
        return ad.model_dump(mode="json", by_alias=True)
