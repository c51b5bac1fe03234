"""Event DTOs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

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
    next_cursor: str = Field(description="Pass as `cursor` for the next page or the next poll")
    has_more: bool = Field(description="True when this page is full, so more may follow at once")


class WebhookRegistration(InputSchema):
    url: str
