"""Connection and ad-account DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import InputSchema, Schema


class AuthorizationStart(InputSchema):
    return_url: str = Field(
        description="Where the browser goes after LinkedIn; must be allow-listed"
    )


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
    needs_reconnect: bool = Field(
        default=False, description="True when the member must connect again before calls work"
    )
    access_token_expires_in_days: int | None = Field(
        default=None, description="Whole days until the access token expires, 0 once expired"
    )
    refresh_token_expires_in_days: int | None = Field(
        default=None, description="Whole days until the refresh token expires, 0 once expired"
    )
    reconnect_by: datetime | None = Field(
        default=None,
        description="When the connection stops working unless the member connects again; "
        "null when LinkedIn gave no refresh-token lifetime",
    )
    expires_soon: bool = Field(
        default=False,
        description="True when the grant ends within the warning window: the refresh token "
        "within LINKEDIN_ADS_REFRESH_TOKEN_WARNING_DAYS, or, for apps without refresh tokens, "
        "the access token within LINKEDIN_ADS_TOKEN_REFRESH_MARGIN_SECONDS",
    )
