"""DTOs of the quota route."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.core.schemas import Schema


class WindowUsageOut(Schema):
    name: str = Field(description="Window name from the rate limit settings, e.g. `day`")
    limit: int = Field(description="Calls allowed in any span of `windowSeconds`")
    used: int = Field(description="Calls counted in the span that ends now")
    remaining: int
    window_seconds: float
    retry_after_seconds: float = Field(
        description="Seconds until one more call fits; 0 when it fits now"
    )
    resets_in_seconds: float = Field(description="Seconds until every counted call has left")


class QuotaOut(Schema):
    account_id: int
    client_id: str = Field(description="The LinkedIn app whose budget this is")
    server_time: datetime = Field(description="Redis server time the numbers refer to")
    parked_until: datetime | None = Field(
        description="Calls are rejected until this time because LinkedIn's daily quota ran out"
    )
    parked_reason: str | None
    windows: list[WindowUsageOut]
