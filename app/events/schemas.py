"""Event DTOs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.schemas import InputSchema, Schema


class EventOut(Schema):
    id: int
    type: str
    entity_type: str
    entity_id: str
    ad_account_id: str | None
    message: str | None
    data: dict[str, Any]
    occurred_at: datetime


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class WebhookRegistration(InputSchema):
    url: str
