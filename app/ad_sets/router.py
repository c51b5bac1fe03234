"""Routes for ad sets (LinkedIn campaigns) under an ad account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.ad_sets.schemas import AdSet, AdSetCreate, AdSetUpdate, SettableStatus
from app.ad_sets.service import AdSetService
from app.campaigns.router import READ_ERRORS, WRITE_ERRORS
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.idempotency_header import idempotency_key, stored_response
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1/ad-accounts/{account_id}/ad-sets", tags=["ad sets"])

KeyDep = Annotated[str, Depends(idempotency_key)]


def service(request: Request) -> AdSetService:
    return request.app.state.ad_sets  # type: ignore[no-any-return]


@router.get("", response_model=list[AdSet], responses=READ_ERRORS)
async def list_ad_sets(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    campaign_id: Annotated[
        str | None, Query(alias="campaignId", description="Only ad sets of this campaign")
    ] = None,
    status: Annotated[list[str] | None, Query(description="Only these statuses")] = None,
) -> list[AdSet]:
    """List every ad set (LinkedIn campaign) of the ad account, across all pages."""
    return await service(request).list(session, workspace, account_id, campaign_id, status)


@router.get("/{ad_set_id}", response_model=AdSet, responses=READ_ERRORS)
async def get_ad_set(
    account_id: AccountId,
    ad_set_id: str,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> AdSet:
    """Show one ad set."""
    return await service(request).get(session, workspace, account_id, ad_set_id)


@router.post("", status_code=201, response_model=AdSet, responses=WRITE_ERRORS)
async def create_ad_set(
    account_id: AccountId,
    body: AdSetCreate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Create an ad set; in dry-run mode the response is synthetic with `dryRun: true`."""
    stored = await service(request).create(session, workspace, account_id, body, key)
    return stored_response(stored)


@router.patch("/{ad_set_id}", response_model=AdSet, responses=WRITE_ERRORS)
async def update_ad_set(
    account_id: AccountId,
    ad_set_id: str,
    body: AdSetUpdate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Change an ad set (sent to LinkedIn as a Rest.li partial update)."""
    stored = await service(request).update(session, workspace, account_id, ad_set_id, body, key)
    return stored_response(stored)


def _status_route(status: SettableStatus, verb: str, summary: str) -> None:
    operation = f"{verb}_campaign"

    async def change_status(
        account_id: AccountId,
        ad_set_id: str,
        request: Request,
        session: SessionDep,
        workspace: WorkspaceDep,
        key: KeyDep,
    ) -> JSONResponse:
        stored = await service(request).set_status(
            session, workspace, account_id, ad_set_id, status, operation, key
        )
        return stored_response(stored)

    change_status.__doc__ = summary
    router.add_api_route(
        f"/{{ad_set_id}}/{verb}",
        change_status,
        methods=["POST"],
        response_model=AdSet,
        responses=WRITE_ERRORS,
        name=operation,
    )


_status_route(SettableStatus.PAUSED, "pause", "Pause an ad set (status PAUSED).")
_status_route(SettableStatus.ACTIVE, "resume", "Resume an ad set (status ACTIVE).")
_status_route(
    SettableStatus.ARCHIVED,
    "archive",
    "Archive an ad set (status ARCHIVED); LinkedIn does not delete running campaigns.",
)
