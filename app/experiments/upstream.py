"""The campaign, ad set, ad and analytics calls an experiment makes, through their services.

Every write goes through the owning service with a key derived from the experiment's request,
so each step is idempotent on its own and a retried experiment request replays the steps that
finished. The `find_*` lookups use the services' list methods to resolve a step whose outcome
was never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ad_sets.schemas import AdSetCreate
from app.ad_sets.schemas import SettableStatus as AdSetStatus
from app.ad_sets.service import AdSetService
from app.ads.schemas import AdCreate
from app.ads.service import AdService
from app.analytics.service import AnalyticsService
from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import CampaignService
from app.core.errors import FieldError, ServiceError, UpstreamDetail
from app.idempotency.service import StoredResponse

# Operation names of ad set status changes, as the ad sets API names them.
STATUS_OPERATIONS = {
    AdSetStatus.ACTIVE: "resume_campaign",
    AdSetStatus.PAUSED: "pause_campaign",
    AdSetStatus.ARCHIVED: "archive_campaign",
}


class StepFailedError(ServiceError):
    """An earlier attempt of this step failed for good; its stored error is raised again."""

    @classmethod
    def from_stored(cls, stored: StoredResponse, operation: str) -> StepFailedError:
        body = stored.body.get("error") or {}
        upstream = body.get("upstream")
        error = cls(
            str(body.get("message") or f"{operation} failed with status {stored.status}"),
            operation=body.get("operation") or operation,
            fields=[FieldError(item["field"], item["message"]) for item in body.get("fields", [])],
            upstream=UpstreamDetail(
                status=upstream.get("status"),
                service_error_code=upstream.get("serviceErrorCode"),
                code=upstream.get("code"),
                request_id=upstream.get("requestId"),
                message=upstream.get("message"),
            )
            if isinstance(upstream, dict)
            else None,
            reason=body.get("reason"),
        )
        error.status_code = stored.status
        error.code = str(body.get("code") or "upstream_error")
        return error


def body_of(stored: StoredResponse, operation: str) -> dict[str, Any]:
    """Return a successful step's body; raise its stored error otherwise."""
    if stored.status >= 400:
        raise StepFailedError.from_stored(stored, operation)
    return stored.body


class Upstream:
    """Adapter over the services that own LinkedIn campaign groups, campaigns and creatives."""

    def __init__(
        self,
        *,
        campaigns: CampaignService,
        ad_sets: AdSetService,
        ads: AdService,
        analytics: AnalyticsService,
    ) -> None:
        self.campaigns = campaigns
        self.ad_sets = ad_sets
        self.ads = ads
        self.analytics = analytics

    # ---- creates -------------------------------------------------------------------------------

    async def create_campaign(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: CampaignCreate,
        key: str,
    ) -> dict[str, Any]:
        stored = await self.campaigns.create(session, workspace_id, account_id, dto, key)
        return body_of(stored, "create_campaign_group")

    async def create_ad_set(
        self, session: AsyncSession, workspace_id: str, account_id: int, dto: AdSetCreate, key: str
    ) -> dict[str, Any]:
        stored = await self.ad_sets.create(session, workspace_id, account_id, dto, key)
        return body_of(stored, "create_campaign")

    async def create_ad(
        self, session: AsyncSession, workspace_id: str, account_id: int, dto: AdCreate, key: str
    ) -> dict[str, Any]:
        stored = await self.ads.create(session, workspace_id, account_id, dto, key)
        return body_of(stored, "create_creative")

    async def set_ad_set_status(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_set_id: str,
        status: AdSetStatus,
        key: str,
    ) -> dict[str, Any]:
        operation = STATUS_OPERATIONS[status]
        stored = await self.ad_sets.set_status(
            session, workspace_id, account_id, ad_set_id, status, operation, key
        )
        return body_of(stored, operation)

    # ---- reads ---------------------------------------------------------------------------------

    async def check_campaign(
        self, session: AsyncSession, workspace_id: str, account_id: int, campaign_id: str
    ) -> None:
        """Raise `NotFoundError` unless the campaign (LinkedIn campaign group) exists."""
        await self.campaigns.get(session, workspace_id, account_id, campaign_id)

    # ---- lookups for steps whose outcome is unknown ----------------------------------------------

    async def find_campaign(
        self, session: AsyncSession, workspace_id: str, account_id: int, name: str, since: datetime
    ) -> str | None:
        for campaign in await self.campaigns.list(session, workspace_id, account_id):
            if campaign.name == name and _created_since(campaign.created_at, since):
                return campaign.id
        return None

    async def find_ad_set(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        campaign_id: str,
        name: str,
        since: datetime,
    ) -> str | None:
        for ad_set in await self.ad_sets.list(session, workspace_id, account_id, campaign_id):
            if ad_set.name == name and _created_since(ad_set.created_at, since):
                return ad_set.id
        return None

    async def find_ad(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        ad_set_id: str,
        known: Sequence[str],
        reference: str | None,
        since: datetime,
    ) -> str | None:
        """Return an ad of the ad set that this experiment has not recorded yet."""
        for ad in await self.ads.list(session, workspace_id, account_id, ad_set_id):
            if ad.id in known or not _created_since(ad.created_at, since):
                continue
            if reference is not None and ad.content_reference != reference:
                continue
            return ad.id
        return None

    async def count_ad_sets(
        self, session: AsyncSession, workspace_id: str, account_id: int, campaign_id: str
    ) -> int:
        return len(await self.ad_sets.list(session, workspace_id, account_id, campaign_id))

    # ---- analytics -----------------------------------------------------------------------------

    async def refresh_ad_set_analytics(
        self, session: AsyncSession, workspace_id: str, account_id: int, start: date, end: date
    ) -> datetime | None:
        """Make stored ad set analytics of [start, end] fresh; return when they were pulled.

        TODO: this pulls every campaign of the account (the `accounts` facet). A pull scoped
        to the experiment's campaign group (the `campaignGroups` facet, pivot CAMPAIGN) needs a
        facet parameter on `AnalyticsService.report`.
        """
        report = await self.analytics.report(
            session,
            workspace_id,
            account_id,
            level="ad_set",
            start=start,
            end=end,
            granularity="DAILY",
            fields=None,
        )
        return report.pulled_at


def _created_since(created_at: datetime | None, since: datetime) -> bool:
    # An entity without a creation time cannot be ruled out, so it counts as a match.
    return created_at is None or created_at >= since
