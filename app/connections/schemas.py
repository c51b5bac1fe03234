"""Connection and ad-account DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field
from app.core.schemas import InputSchema, Schema


class AuthorizationStart(InputSchema):
    return_url: str = Field(description="Where the browser goes after LinkedIn; must be allow-listed")


class AuthorizationUrl(Schema):
    authorization_url: str
    expires_at: datetime


class AdAccountOut(Schema):
    id: str = Field(description="LinkedIn's numeric sponsored account id")
    urn: str
    name: str
    currency: str
    status: str
    type: str | None
    test: bool
    connection_id: uuid.UUID
    last_synced_at: datetime | None = None


class ConnectionOut(Schema):
    id: uuid.UUID
    status: str = Field(description="active, needs_reconnect or disconnected")
    status_reason: str | None = None
    scopes: list[str]
    access_token_expires_at: datetime | None
    refresh_token_expires_at: datetime | None
    has_refresh_token: bool
    created_at: datetime
    last_refreshed_at: datetime | None
    ad_accounts: list[AdAccountOut] = []
