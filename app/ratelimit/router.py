"""Route: how much of an ad account's LinkedIn rate budget is used and left."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import (
    AuthenticationError,
    DependencyUnavailableError,
    NotFoundError,
    error_responses,
)
from app.core.schemas import AccountId
from app.ratelimit import service
from app.ratelimit.schemas import QuotaOut

router = APIRouter(prefix="/v1", tags=["quota"])


@router.get(
    "/ad-accounts/{account_id}/quota",
    response_model=QuotaOut,
    responses=error_responses(AuthenticationError, NotFoundError, DependencyUnavailableError),
)
async def get_quota(
    account_id: AccountId, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> QuotaOut:
    """Return each rate limit window's use and what is left for the ad account."""
    return await service.account_quota(session, request.app.state.limiter, workspace, account_id)
