"""Campaign DTOs: the dashboard's campaign is LinkedIn's campaign group (the budget container)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, model_validator

from app.core.schemas import InputSchema, Schema

Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class CampaignStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"
    CANCELED = "CANCELED"
    PENDING_DELETION = "PENDING_DELETION"
    REMOVED = "REMOVED"


class SettableStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"
    PENDING_DELETION = "PENDING_DELETION"


class CreateStatus(enum.StrEnum):
    """Statuses a new campaign may start in; LinkedIn refuses ARCHIVED and PENDING_DELETION."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"


class CampaignCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    status: CreateStatus = CreateStatus.PAUSED
    start_time: datetime | None = Field(
        default=None, description="Defaults to five minutes from now; must not be in the past"
    )
    end_time: datetime | None = None
    daily_budget: Money | None = Field(default=None, description="USD per day")
    lifetime_budget: Money | None = Field(
        default=None, description="USD for the whole run; needs end_time"
    )
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    objective: str | None = Field(default=None, description="LinkedIn objectiveType; immutable")

    @model_validator(mode="after")
    def _check_schedule(self) -> CampaignCreate:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class CampaignUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    status: SettableStatus | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    daily_budget: Money | None = None
    lifetime_budget: Money | None = None

    @model_validator(mode="after")
    def _check_not_empty(self) -> CampaignUpdate:
        if not self.model_fields_set:
            raise ValueError("the update names no field to change")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class Campaign(Schema):
    id: str
    urn: str
    ad_account_id: str
    name: str
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    daily_budget: Decimal | None = None
    lifetime_budget: Decimal | None = None
    currency: str | None = None
    objective: str | None = None
    serving_statuses: list[str] = []
    test: bool = False
    version: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    dry_run: bool = False
