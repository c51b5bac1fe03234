"""Routes for events and (unsupported) webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import AuthenticationError, InvalidInputError, error_responses
from app.core.schemas import MAX_BIGINT
from app.events import service
from app.events.schemas import EventPage, WebhookRegistration

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/events",
    response_model=EventPage,
    responses=error_responses(AuthenticationError, InvalidInputError),
)
async def list_events(
    session: SessionDep,
    workspace: WorkspaceDep,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    ad_account_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> EventPage:
    """List state changes (oldest first) seen by the sync, since LinkedIn has no webhooks."""
    return await service.list_events(
        session, workspace, cursor=cursor, limit=limit, types=type, ad_account_id=ad_account_id
    )


@router.post(
    "/webhooks", responses=error_responses(AuthenticationError, service.WebhooksNotSupportedError)
)
async def register_webhook(body: WebhookRegistration, workspace: WorkspaceDep) -> None:
    """Always 400: LinkedIn's Marketing API offers no webhooks; poll `/v1/events` instead."""
    service.register_webhook()
