"""SQL for events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event


async def add_event(
    session: AsyncSession,
    *,
    workspace_id: str,
    entity_type: str,
    entity_id: str,
    type: str,
    data: dict[str, Any] | None = None,
    message: str | None = None,
    connection_id: uuid.UUID | None = None,
    ad_account_id: int | None = None,
) -> Event:
    event = Event(
        workspace_id=workspace_id,
        entity_type=entity_type,
        entity_id=entity_id,
        type=type,
        data=data or {},
        message=message,
        connection_id=connection_id,
        ad_account_id=ad_account_id,
    )
    session.add(event)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession,
    workspace_id: str,
    *,
    after_id: int = 0,
    limit: int = 100,
    types: Sequence[str] | None = None,
    ad_account_id: int | None = None,
) -> Sequence[Event]:
    statement = (
        select(Event)
        .where(Event.workspace_id == workspace_id, Event.id > after_id)
        .order_by(Event.id)
        .limit(limit)
    )
    if types:
        statement = statement.where(Event.type.in_(types))
    if ad_account_id is not None:
        statement = statement.where(Event.ad_account_id == ad_account_id)
    return (await session.execute(statement)).scalars().all()
