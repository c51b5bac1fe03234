"""Routes for analytics of an ad account and for the state of the hourly sync."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.analytics.schemas import AnalyticsReport, Granularity, Level, SyncStatus
from app.analytics.service import AnalyticsService
from app.analytics.sync import SyncService
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import (
    ApiVersionError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ReconnectRequiredError,
    UpstreamPermissionError,
    UpstreamUnavailableError,
    error_responses,
)
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1", tags=["analytics"])


@router.get(
    "/ad-accounts/{account_id}/analytics",
    response_model=AnalyticsReport,
    responses=error_responses(
        AuthenticationError,
        NotFoundError,
        InvalidInputError,
        ReconnectRequiredError,
        UpstreamPermissionError,
        QuotaExceededError,
        UpstreamUnavailableError,
        ApiVersionError,
    ),
)
async def get_analytics(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    start: Annotated[date, Query(description="First day, YYYY-MM-DD (UTC)")],
    end: Annotated[date, Query(description="Last day, inclusive, YYYY-MM-DD (UTC)")],
    level: Annotated[Level, Query(description="campaign, ad_set or ad")] = "campaign",
    granularity: Annotated[Granularity, Query()] = "DAILY",
    fields: Annotated[
        str | None,
        Query(
            description="Comma-separated: spend, spendUsd, impressions, clicks, conversions or "
            "LinkedIn metric names; the first five by default"
        ),
    ] = None,
) -> AnalyticsReport:
    """Report metrics per campaign, ad set or ad; stored data is used while it is fresh."""
    analytics: AnalyticsService = request.app.state.analytics
    return await analytics.report(
        session,
        workspace,
        account_id,
        level=level,
        start=start,
        end=end,
        granularity=granularity,
        fields=fields,
    )


@router.get(
    "/sync/status", response_model=SyncStatus, responses=error_responses(AuthenticationError)
)
async def get_sync_status(
    request: Request, session: SessionDep, workspace: WorkspaceDep
) -> SyncStatus:
    """Show when each connected ad account was last synced, its lag and its last error."""
    sync: SyncService = request.app.state.sync
    return await sync.status(session, workspace)
