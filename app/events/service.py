"""Listing events with a cursor; webhooks are not something LinkedIn offers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, InvalidInputError
from app.events import repository
from app.events.schemas import EventOut, EventPage

WEBHOOKS_UNSUPPORTED = "webhooks not supported on linkedin_ads"
MAX_EVENT_ID = 2**63 - 1


class WebhooksNotSupportedError(InvalidInputError):
    status_code = 400
    code = "webhooks_not_supported"


def parse_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    # Event ids are PostgreSQL bigints, so a larger number cannot be a cursor.
    if not cursor.isdigit() or int(cursor) > MAX_EVENT_ID:
        raise InvalidInputError(
            f"cursor {cursor[:40]!r} is invalid; pass the nextCursor of a page",
            fields=[FieldError("cursor", "not a cursor this service returned")],
        )
    return int(cursor)


async def list_events(
    session: AsyncSession,
    workspace_id: str,
    *,
    cursor: str | None,
    limit: int,
    types: list[str] | None,
    ad_account_id: int | None,
) -> EventPage:
    events = await repository.list_events(
        session,
        workspace_id,
        after_id=parse_cursor(cursor),
        limit=limit,
        types=types,
        ad_account_id=ad_account_id,
    )
    items = [
        EventOut(
            id=event.id,
            type=event.type,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            ad_account_id=str(event.ad_account_id) if event.ad_account_id is not None else None,
            message=event.message,
            data=event.data,
            occurred_at=event.occurred_at,
        )
        for event in events
    ]
    # The cursor always points past what was returned, so a poller that reached the end keeps
    # it and requests what happened since later.
    next_cursor = str(items[-1].id) if items else (cursor or "0")
    return EventPage(items=items, next_cursor=next_cursor, has_more=len(items) == limit)


def register_webhook() -> None:
    """LinkedIn's Marketing API has no webhooks; changes surface as events from the sync."""
    raise WebhooksNotSupportedError(WEBHOOKS_UNSUPPORTED, operation="register_webhook")
