"""Ad sets (LinkedIn campaigns): list, get, create, update, pause, resume, archive."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ad_sets.schemas import AdSet, AdSetCreate, AdSetUpdate, SettableStatus
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
from app.linkedin import campaigns as mapping
from app.linkedin import dryrun
from app.linkedin.client import LinkedInClient, account_path
from app.linkedin.payloads import CAMPAIGN_GROUP_URN, CAMPAIGN_URN, is_dry_run_id
from app.linkedin.restli import campaigns_search

logger = logging.getLogger(__name__)

KIND = "campaign"
# LinkedIn's campaign search needs a criterion; listing every status is "all ad sets".
ALL_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "ARCHIVED",
    "COMPLETED",
    "CANCELED",
    "DRAFT",
    "PENDING_DELETION",
)


def with_dto_fields(error: ServiceError) -> ServiceError:
    """Rename LinkedIn's input paths in a rejection to the DTO's field names."""
    if isinstance(error, UpstreamRejectedError) and error.fields:
        error.fields = mapping.to_dto_fields(error.fields)
    return error


class AdSetService:
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
        campaign_id: str | None = None,
        statuses: list[str] | None = None,
    ) -> list[AdSet]:
        """List every ad set, across all pages, optionally of one parent campaign."""
        access = await self._access(session, workspace_id, account_id)
        groups = None
        if campaign_id:
            groups = [CAMPAIGN_GROUP_URN.format(mapping.group_id_of(campaign_id))]
        params = campaigns_search(campaign_groups=groups, statuses=statuses or list(ALL_STATUSES))

        async def call(token: str) -> list[dict[str, Any]]:
            return await self.linkedin.find_all(
                "list_campaigns",
                account_path(account_id, "adCampaigns"),
                token=token,
                scope=str(account_id),
                params=params,
                page_size=1000,
            )

        elements = await call_with_token(self.tokens, access, call)
        return [mapping.to_dto(element, account_id) for element in elements]

    async def _read(
        self, access: AccountAccess, resource: str, entity_id: str, operation: str
    ) -> dict[str, Any]:
        async def call(token: str) -> dict[str, Any]:
            body = await self.linkedin.get(
                operation,
                account_path(access.account_id, resource, int(entity_id)),
                token=token,
                scope=str(access.account_id),
            )
            return dict(body or {})

        return await call_with_token(self.tokens, access, call)

    async def get(
        self, session: AsyncSession, workspace_id: str, account_id: int, ad_set_id: str
    ) -> AdSet:
        if is_dry_run_id(ad_set_id):
            await self._account(session, workspace_id, account_id)
            entity = await dryrun.load(
                session,
                workspace_id=workspace_id,
                account_id=account_id,
                urn=CAMPAIGN_URN.format(ad_set_id),
            )
            if entity is None:
                raise NotFoundError(f"dry-run ad set {ad_set_id} not found")
            return mapping.to_dto(entity, account_id, dry_run=True)
        if not ad_set_id.isdigit():
            raise NotFoundError(f"ad set {ad_set_id!r} not found: ids are numbers")
        access = await self._access(session, workspace_id, account_id)
        return mapping.to_dto(
            await self._read(access, "adCampaigns", ad_set_id, "get_campaign"), account_id
        )

    async def _parent_group(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        group_urn: str,
        operation: str,
    ) -> dict[str, Any] | None:
        """Return the parent campaign group as LinkedIn stores it, or None when it is unknown."""
        group_id = mapping.group_id_of(group_urn)
        if is_dry_run_id(group_id):
            return await dryrun.load(
                session,
                workspace_id=workspace_id,
                account_id=account_id,
                urn=CAMPAIGN_GROUP_URN.format(group_id),
            )
        if not group_id.isdigit():
            return None
        access = await self._access(session, workspace_id, account_id)
        try:
            return await self._read(access, "adCampaignGroups", group_id, operation)
        except NotFoundError:
            return None

    # ---- writes ----------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: AdSetCreate,
        idempotency_key: str,
    ) -> StoredResponse:
        operation = "create_campaign"
        payload = mapping.build_create_payload(dto, account_id)

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            account = await self._account(session, workspace_id, account_id)
            if not self.live:
                group = await self._parent_group(
                    session, workspace_id, account_id, payload["campaignGroup"], operation
                )
                mapping.validate_campaign(
                    payload,
                    account_id=account_id,
                    account_currency=account.currency,
                    group=group,
                    operation=operation,
                )
                entity_id = dryrun.synthetic_id(workspace_id, idempotency_key, KIND)
                entity = dryrun.synthesize(payload, entity_id, test=account.test)
                await dryrun.save(
                    session,
                    workspace_id=workspace_id,
                    account_id=account_id,
                    kind=KIND,
                    urn=CAMPAIGN_URN.format(entity_id),
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
                    account_path(account_id, "adCampaigns"),
                    payload,
                    token=token,
                    scope=str(account_id),
                    idempotency_key=idempotency_key,
                    find_existing=find_existing,
                )

            try:
                campaign_id = await call_with_token(self.tokens, access, call)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            try:
                entity = await self._read(access, "adCampaigns", campaign_id, operation)
            except ServiceError as error:
                # The campaign exists now. Failing here would release the idempotency key, and
                # a retry would create a second one, so respond with what was sent instead.
                logger.warning(
                    "campaign.read_after_create_failed",
                    extra={
                        "ad_account_id": account_id,
                        "campaign_id": campaign_id,
                        "error": error.message,
                    },
                )
                entity = {**payload, "id": campaign_id}
            logger.info(
                "campaign.created", extra={"ad_account_id": account_id, "campaign_id": campaign_id}
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
        )

    async def _find_created(
        self,
        session: AsyncSession,
        access: AccountAccess,
        payload: dict[str, Any],
        since: datetime,
    ) -> str | None:
        """Look for a campaign this request may already have made: same group, name, recent.

        Campaigns that another request already returned are skipped.
        """
        params = campaigns_search(
            campaign_groups=[payload["campaignGroup"]],
            statuses=list(ALL_STATUSES),
            sort_order="DESCENDING",
        )
        elements = await self.linkedin.find_all(
            "find_campaign",
            account_path(access.account_id, "adCampaigns"),
            token=access.access_token,
            scope=str(access.account_id),
            params=params,
            page_size=100,
            max_pages=5,
        )
        since_ms = int(since.timestamp() * 1000)
        candidates = []
        for element in elements:
            created = ((element.get("changeAuditStamps") or {}).get("created") or {}).get("time", 0)
            if (
                element.get("name") == payload["name"]
                and element.get("targetingCriteria") == payload["targetingCriteria"]
                and int(created) >= since_ms
            ):
                candidates.append(str(element["id"]))
        taken = await claimed_urns(
            session, [CAMPAIGN_URN.format(candidate) for candidate in candidates]
        )
        for candidate in candidates:
            if CAMPAIGN_URN.format(candidate) not in taken:
                return candidate
        return None

    async def update(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_set_id: str,
        dto: AdSetUpdate,
        idempotency_key: str,
        operation: str = "update_campaign",
    ) -> StoredResponse:
        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            account = await self._account(session, workspace_id, account_id)
            if is_dry_run_id(ad_set_id):
                urn = CAMPAIGN_URN.format(ad_set_id)
                current = await dryrun.load(
                    session, workspace_id=workspace_id, account_id=account_id, urn=urn
                )
                if current is None:
                    raise NotFoundError(
                        f"dry-run ad set {ad_set_id} not found", operation=operation
                    )
                updated = dryrun.apply_patch(current, mapping.build_patch(dto, current))
                group = await self._parent_group(
                    session, workspace_id, account_id, str(current.get("campaignGroup")), operation
                )
                mapping.validate_campaign(
                    updated,
                    account_id=account_id,
                    account_currency=account.currency,
                    group=group,
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
            if not ad_set_id.isdigit():
                raise NotFoundError(
                    f"ad set {ad_set_id!r} not found: ids are numbers", operation=operation
                )

            # Reads go upstream in both modes: the current state decides what may change.
            access = await self._access(session, workspace_id, account_id)
            try:
                current = await self._read(access, "adCampaigns", ad_set_id, operation)
                changes = mapping.build_patch(dto, current)
                if not self.live:
                    updated = dryrun.apply_patch(current, changes)
                    group = await self._parent_group(
                        session,
                        workspace_id,
                        account_id,
                        str(current.get("campaignGroup")),
                        operation,
                    )
                    mapping.validate_campaign(
                        updated,
                        account_id=account_id,
                        account_currency=account.currency,
                        group=group,
                        operation=operation,
                        previous=current,
                    )
                    dryrun.count_write(operation)
                    return 200, self._body(mapping.to_dto(updated, account_id, dry_run=True))

                async def call(token: str) -> None:
                    await self.linkedin.partial_update(
                        operation,
                        account_path(account_id, "adCampaigns", int(ad_set_id)),
                        changes,
                        token=token,
                        scope=str(account_id),
                        idempotency_key=idempotency_key,
                    )

                await call_with_token(self.tokens, access, call)
                entity = await self._read(access, "adCampaigns", ad_set_id, operation)
            except ServiceError as error:
                raise with_dto_fields(error) from None
            return 200, self._body(mapping.to_dto(entity, account_id))

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}/{ad_set_id}",
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
        )

    async def set_status(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_set_id: str,
        status: SettableStatus,
        operation: str,
        idempotency_key: str,
    ) -> StoredResponse:
        return await self.update(
            session,
            workspace_id,
            account_id,
            ad_set_id,
            AdSetUpdate(status=status),
            idempotency_key,
            operation,
        )

    @staticmethod
    def _body(ad_set: AdSet) -> dict[str, Any]:
        return ad_set.model_dump(mode="json", by_alias=True)
