"""Campaigns (LinkedIn campaign groups): list, get, create, update, pause, resume, archive."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.schemas import Campaign, CampaignCreate, CampaignUpdate, SettableStatus
from app.connections import repository as connections
from app.connections.models import AdAccount
from app.connections.tokens import AccountAccess, TokenService, call_with_token
from app.core.errors import FieldError, NotFoundError, ServiceError, UpstreamRejectedError
from app.core.settings import Settings
from app.idempotency.service import (
    IdempotencyStore,
    StoredResponse,
    claimed_urns,
    created_since,
)
from app.linkedin import campaign_groups as mapping
from app.linkedin import dryrun
from app.linkedin.client import LinkedInClient, account_path
from app.linkedin.payloads import (
    CAMPAIGN_GROUP_FIELDS,
    CAMPAIGN_GROUP_URN,
    dto_field,
    is_dry_run_id,
)

logger = logging.getLogger(__name__)

KIND = "campaign_group"


def with_dto_fields(error: ServiceError) -> ServiceError:
    """Rename LinkedIn's input paths in a rejection to the DTO's field names."""
    if isinstance(error, UpstreamRejectedError) and error.fields:
        error.fields = [
            FieldError(dto_field(item.field, CAMPAIGN_GROUP_FIELDS), item.message)
            for item in error.fields
        ]
    return error


class CampaignService:
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
        statuses: list[str] | None = None,
    ) -> list[Campaign]:
        access = await self._access(session, workspace_id, account_id)
        params: dict[str, Any] = {"q": "search", "sortOrder": "ASCENDING"}
        if statuses:
            params["search"] = {"status": {"values": statuses}}

        async def call(token: str) -> list[dict[str, Any]]:
            return await self.linkedin.find_all(
                "list_campaign_groups",
                account_path(account_id, "adCampaignGroups"),
                token=token,
                scope=str(account_id),
                params=params,
                page_size=1000,
            )

        elements = await call_with_token(self.tokens, access, call)
        return [mapping.to_dto(element, account_id) for element in elements]

    async def _read(
        self, access: AccountAccess, group_id: str, operation: str = "get_campaign_group"
    ) -> dict[str, Any]:
        async def call(token: str) -> dict[str, Any]:
            body = await self.linkedin.get(
                operation,
                account_path(access.account_id, "adCampaignGroups", int(group_id)),
                token=token,
                scope=str(access.account_id),
            )
            return dict(body or {})

        return await call_with_token(self.tokens, access, call)

    async def get(
        self, session: AsyncSession, workspace_id: str, account_id: int, group_id: str
    ) -> Campaign:
        if is_dry_run_id(group_id):
            await self._account(session, workspace_id, account_id)
            entity = await dryrun.load(
                session,
                workspace_id=workspace_id,
                account_id=account_id,
                urn=CAMPAIGN_GROUP_URN.format(group_id),
            )
            if entity is None:
                raise NotFoundError(f"dry-run campaign {group_id} not found")
            return mapping.to_dto(entity, account_id, dry_run=True)
        if not group_id.isdigit():
            raise NotFoundError(f"campaign {group_id!r} not found: ids are numbers")
        access = await self._access(session, workspace_id, account_id)
        return mapping.to_dto(await self._read(access, group_id), account_id)

    # ---- writes ----------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: CampaignCreate,
        idempotency_key: str,
    ) -> StoredResponse:
        operation = "create_campaign_group"
        payload = mapping.build_create_payload(
            dto, account_id, self.settings.linkedin_ads_api_version
        )

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            account = await self._account(session, workspace_id, account_id)
            if not self.live:
                mapping.validate_group(
                    payload, account_currency=account.currency, operation=operation
                )
                entity_id = dryrun.synthetic_id(workspace_id, idempotency_key, KIND)
                entity = dryrun.synthesize(payload, entity_id, test=account.test)
                await dryrun.save(
                    session,
                    workspace_id=workspace_id,
                    account_id=account_id,
                    kind=KIND,
                    urn=CAMPAIGN_GROUP_URN.format(entity_id),
                    body=entity,
                    operation=operation,
                )
                return 201, self._body(mapping.to_dto(entity, account_id, dry_run=True))
            access = await self._access(session, workspace_id, account_id)
            started = datetime.now(UTC)

            async def find_existing() -> str | None:
                return await self._find_created(
                    session, access, payload, created_since(started, resumed)
                )

            async def call(token: str) -> str:
                if resumed:
                    found = await find_existing()
                    if found is not None:
                        return found
                return await self.linkedin.create(
                    operation,
                    account_path(account_id, "adCampaignGroups"),
                    payload,
                    token=token,
                    scope=str(account_id),
                    idempotency_key=idempotency_key,
                    find_existing=find_existing,
                )

            try:
                group_id = await call_with_token(self.tokens, access, call)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            try:
                entity = await self._read(access, group_id)
            except ServiceError as error:
                # The group exists now. Failing here would release the idempotency key, and a
                # retry would create a second group, so respond with what was sent instead.
                logger.warning(
                    "campaign_group.read_after_create_failed",
                    extra={
                        "ad_account_id": account_id,
                        "campaign_group_id": group_id,
                        "error": error.message,
                    },
                )
                entity = {**payload, "id": group_id}
            logger.info(
                "campaign_group.created",
                extra={"ad_account_id": account_id, "campaign_group_id": group_id},
            )
            return 201, self._body(mapping.to_dto(entity, account_id))

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}",
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
            writes_upstream=self.live,
        )

    async def _find_created(
        self,
        session: AsyncSession,
        access: AccountAccess,
        payload: dict[str, Any],
        since: datetime,
    ) -> str | None:
        """Look for a group this request may already have made: same name, schedule, recent.

        Groups that another request already returned are skipped. NOTE: a look-alike group made
        outside this service (in Campaign Manager) since `since` would still be taken for it.
        """
        elements = await self.linkedin.find_all(
            "find_campaign_group",
            account_path(access.account_id, "adCampaignGroups"),
            token=access.access_token,
            scope=str(access.account_id),
            params={
                "q": "search",
                "search": {"name": {"values": [payload["name"]]}},
                "sortOrder": "DESCENDING",
            },
            page_size=100,
        )
        since_ms = int(since.timestamp() * 1000)
        candidates = []
        for element in elements:
            created = ((element.get("changeAuditStamps") or {}).get("created") or {}).get("time", 0)
            if (
                element.get("name") == payload["name"]
                and element.get("runSchedule", {}).get("end") == payload["runSchedule"].get("end")
                and element.get("totalBudget") == payload.get("totalBudget")
                and int(created) >= since_ms
            ):
                candidates.append(str(element["id"]))
        taken = await claimed_urns(
            session, [CAMPAIGN_GROUP_URN.format(candidate) for candidate in candidates]
        )
        for candidate in candidates:
            if CAMPAIGN_GROUP_URN.format(candidate) not in taken:
                return candidate
        return None

    async def update(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        group_id: str,
        dto: CampaignUpdate,
        idempotency_key: str,
        operation: str = "update_campaign_group",
    ) -> StoredResponse:
        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            account = await self._account(session, workspace_id, account_id)
            if is_dry_run_id(group_id):
                urn = CAMPAIGN_GROUP_URN.format(group_id)
                current = await dryrun.load(
                    session, workspace_id=workspace_id, account_id=account_id, urn=urn
                )
                if current is None:
                    raise NotFoundError(
                        f"dry-run campaign {group_id} not found", operation=operation
                    )
                changes = mapping.build_patch(dto, current, self.settings.linkedin_ads_api_version)
                updated = dryrun.apply_patch(current, changes)
                mapping.validate_group(
                    updated,
                    account_currency=account.currency,
                    operation=operation,
                    previous=current,
                )
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
            if not group_id.isdigit():
                raise NotFoundError(
                    f"campaign {group_id!r} not found: ids are numbers", operation=operation
                )

            # Reads go upstream in both modes: the current state decides what may change.
            access = await self._access(session, workspace_id, account_id)
            try:
                current = await self._read(access, group_id, operation)
                changes = mapping.build_patch(dto, current, self.settings.linkedin_ads_api_version)
                if "status" in changes:
                    mapping.check_status_change(
                        str(current.get("status")), changes["status"], operation
                    )
                if not self.live:
                    updated = dryrun.apply_patch(current, changes)
                    mapping.validate_group(
                        updated,
                        account_currency=account.currency,
                        operation=operation,
                        previous=current,
                    )
                    dryrun.count_write(operation)
                    return 200, self._body(mapping.to_dto(updated, account_id, dry_run=True))

                async def call(token: str) -> None:
                    await self.linkedin.partial_update(
                        operation,
                        account_path(account_id, "adCampaignGroups", int(group_id)),
                        changes,
                        token=token,
                        scope=str(account_id),
                        idempotency_key=idempotency_key,
                    )

                await call_with_token(self.tokens, access, call)
                entity = await self._read(access, group_id, operation)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            return 200, self._body(mapping.to_dto(entity, account_id))

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}/{group_id}",
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
            writes_upstream=self.live and not is_dry_run_id(group_id),
        )

    async def set_status(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        group_id: str,
        status: SettableStatus,
        operation: str,
        idempotency_key: str,
    ) -> StoredResponse:
        return await self.update(
            session,
            workspace_id,
            account_id,
            group_id,
            CampaignUpdate(status=status),
            idempotency_key,
            operation,
        )

    @staticmethod
    def _body(campaign: Campaign) -> dict[str, Any]:
        return campaign.model_dump(mode="json", by_alias=True)
