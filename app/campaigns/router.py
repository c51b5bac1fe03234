"""Routes for campaigns (LinkedIn campaign groups) under an ad account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.campaigns.schemas import Campaign, CampaignCreate, CampaignUpdate, SettableStatus
from app.campaigns.service import CampaignService
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import (
    ApiVersionError,
    AuthenticationError,
    ConflictError,
    IdempotencyMismatchError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ReconnectRequiredError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
    error_responses,
)
from app.core.idempotency_header import idempotency_key, stored_response
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1/ad-accounts/{account_id}/campaigns", tags=["campaigns"])

KeyDep = Annotated[str, Depends(idempotency_key)]
READ_ERRORS = error_responses(
    AuthenticationError,
    NotFoundError,
    ReconnectRequiredError,
    QuotaExceededError,
    UpstreamUnavailableError,
    ApiVersionError,
)
WRITE_ERRORS = error_responses(
    AuthenticationError,
    NotFoundError,
    InvalidInputError,
    UpstreamRejectedError,
    IdempotencyMismatchError,
    ConflictError,
    ReconnectRequiredError,
    QuotaExceededError,
    UpstreamUnavailableError,
    ApiVersionError,
)


def service(request: Request) -> CampaignService:
    return request.app.state.campaigns  # type: ignore[no-any-return]


@router.get("", response_model=list[Campaign], responses=READ_ERRORS)
async def list_campaigns(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    status: Annotated[list[str] | None, Query(description="Only these statuses")] = None,
) -> list[Campaign]:
    """List every campaign (LinkedIn campaign group) of the ad account, across all pages."""
    return await service(request).list(session, workspace, account_id, status)


@router.get("/{campaign_id}", response_model=Campaign, responses=READ_ERRORS)
async def get_campaign(
    account_id: AccountId,
    campaign_id: str,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> Campaign:
    """Show one campaign."""
    return await service(request).get(session, workspace, account_id, campaign_id)


@router.post("", status_code=201, response_model=Campaign, responses=WRITE_ERRORS)
async def create_campaign(
    account_id: AccountId,
    body: CampaignCreate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Create a campaign; in dry-run mode the response is synthetic with `dryRun: true`."""
    stored = await service(request).create(session, workspace, account_id, body, key)
    return stored_response(stored)


@router.patch("/{campaign_id}", response_model=Campaign, responses=WRITE_ERRORS)
async def update_campaign(
    account_id: AccountId,
    campaign_id: str,
    body: CampaignUpdate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Change a campaign's name, schedule, budget or status (sent as a Rest.li partial update)."""
    stored = await service(request).update(session, workspace, account_id, campaign_id, body, key)
    return stored_response(stored)


def _status_route(status: SettableStatus, operation: str, summary: str) -> None:
    async def change_status(
        account_id: AccountId,
        campaign_id: str,
        request: Request,
        session: SessionDep,
        workspace: WorkspaceDep,
        key: KeyDep,
    ) -> JSONResponse:
        stored = await service(request).set_status(
            session, workspace, account_id, campaign_id, status, operation, key
        )
        return stored_response(stored)

    change_status.__doc__ = summary
    router.add_api_route(
        f"/{{campaign_id}}/{operation.split('_', 1)[0]}",
        change_status,
        methods=["POST"],
        response_model=Campaign,
        responses=WRITE_ERRORS,
        name=operation,
    )


_status_route(SettableStatus.PAUSED, "pause_campaign_group", "Pause a campaign (status PAUSED).")
_status_route(SettableStatus.ACTIVE, "resume_campaign_group", "Resume a campaign (status ACTIVE).")
_status_route(
    SettableStatus.ARCHIVED,
    "archive_campaign_group",
    "Archive a campaign (status ARCHIVED); LinkedIn does not delete campaign groups.",
)
