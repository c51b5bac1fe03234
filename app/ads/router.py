"""Routes for ads (LinkedIn creatives) under an ad account.

An ad id is the number of its creative URN (`urn:li:sponsoredCreative:{id}`), the whole URN,
or a dry-run id (`dryrun-...`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.ads.schemas import Ad, AdCreate, AdUpdate, SettableStatus
from app.ads.service import AdService
from app.campaigns.router import READ_ERRORS, WRITE_ERRORS
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.idempotency_header import idempotency_key, stored_response
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1/ad-accounts/{account_id}/ads", tags=["ads"])

KeyDep = Annotated[str, Depends(idempotency_key)]


def service(request: Request) -> AdService:
    return request.app.state.ads  # type: ignore[no-any-return]


@router.get("", response_model=list[Ad], responses=READ_ERRORS)
async def list_ads(
    account_id: AccountId,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    ad_set_id: Annotated[
        str | None, Query(alias="adSetId", description="Only ads of this ad set")
    ] = None,
    status: Annotated[list[str] | None, Query(description="Only these statuses")] = None,
) -> list[Ad]:
    """List every ad (LinkedIn creative) of the ad account, across all pages."""
    return await service(request).list(session, workspace, account_id, ad_set_id, status)


@router.get("/{ad_id}", response_model=Ad, responses=READ_ERRORS)
async def get_ad(
    account_id: AccountId,
    ad_id: str,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> Ad:
    """Show one ad with its review status and serving-hold reasons."""
    return await service(request).get(session, workspace, account_id, ad_id)


@router.post("", status_code=201, response_model=Ad, responses=WRITE_ERRORS)
async def create_ad(
    account_id: AccountId,
    body: AdCreate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Create an ad from a post URN or from uploaded media (dry runs respond `dryRun: true`)."""
    stored = await service(request).create(session, workspace, account_id, body, key)
    return stored_response(stored)


@router.patch("/{ad_id}", response_model=Ad, responses=WRITE_ERRORS)
async def update_ad(
    account_id: AccountId,
    ad_id: str,
    body: AdUpdate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Change an ad's name or status (LinkedIn updates nothing else on a creative)."""
    stored = await service(request).update(session, workspace, account_id, ad_id, body, key)
    return stored_response(stored)


def _status_route(status: SettableStatus, verb: str, summary: str) -> None:
    operation = f"{verb}_creative"

    async def change_status(
        account_id: AccountId,
        ad_id: str,
        request: Request,
        session: SessionDep,
        workspace: WorkspaceDep,
        key: KeyDep,
    ) -> JSONResponse:
        stored = await service(request).set_status(
            session, workspace, account_id, ad_id, status, operation, key
        )
        return stored_response(stored)

    change_status.__doc__ = summary
    router.add_api_route(
        f"/{{ad_id}}/{verb}",
        change_status,
        methods=["POST"],
        response_model=Ad,
        responses=WRITE_ERRORS,
        name=operation,
    )


_status_route(SettableStatus.PAUSED, "pause", "Pause an ad (intendedStatus PAUSED).")
_status_route(SettableStatus.ACTIVE, "resume", "Resume an ad (intendedStatus ACTIVE).")
_status_route(SettableStatus.ARCHIVED, "archive", "Archive an ad (intendedStatus ARCHIVED).")
