"""Ad DTOs: the dashboard's ad is LinkedIn's creative, bound to an ad set (campaign) by URN."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import Field, model_validator

from app.core.schemas import InputSchema, Schema


class CallToAction(enum.StrEnum):
    APPLY = "APPLY"
    DOWNLOAD = "DOWNLOAD"
    VIEW_QUOTE = "VIEW_QUOTE"
    LEARN_MORE = "LEARN_MORE"
    SIGN_UP = "SIGN_UP"
    SUBSCRIBE = "SUBSCRIBE"
    REGISTER = "REGISTER"
    REQUEST_DEMO = "REQUEST_DEMO"
    JOIN = "JOIN"
    ATTEND = "ATTEND"
    UNLOCK_FULL_DOCUMENT = "UNLOCK_FULL_DOCUMENT"


class CreateStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"


class SettableStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"
    CANCELED = "CANCELED"
    PENDING_DELETION = "PENDING_DELETION"


class AdContent(InputSchema):
    """Either `reference` (an existing post) or inline media with its post text."""

    reference: str | None = Field(
        default=None,
        description="Post URN: urn:li:share:..., urn:li:ugcPost:... or urn:li:adInMailContent:...",
    )
    media_urn: str | None = Field(
        default=None, description="Uploaded image, video or document URN (POST /assets returns it)"
    )
    headline: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=3000, description="The post's commentary")
    landing_page: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    call_to_action: CallToAction | None = None
    author: str | None = Field(
        default=None,
        description="Organization URN that posts the ad; defaults to the ad account's organization",
    )

    @model_validator(mode="after")
    def _check_kind(self) -> AdContent:
        inline = [
            name
            for name in (
                "media_urn",
                "headline",
                "text",
                "landing_page",
                "call_to_action",
                "author",
            )
            if getattr(self, name) is not None
        ]
        if self.reference is None and self.media_urn is None:
            raise ValueError("give either reference (a post URN) or media_urn with the post text")
        if self.reference is not None and inline:
            names = ", ".join(inline)
            raise ValueError(f"reference can't be combined with inline fields ({names})")
        return self

    @property
    def is_inline(self) -> bool:
        return self.reference is None


class AdCreate(InputSchema):
    ad_set_id: str = Field(min_length=1, description="Ad set (LinkedIn campaign) id or URN")
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Needs LinkedIn-Version 202410 or later",
    )
    status: CreateStatus = CreateStatus.PAUSED
    content: AdContent


class AdUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    status: SettableStatus | None = None

    @model_validator(mode="after")
    def _check_not_empty(self) -> AdUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "the update names no field to change; LinkedIn changes only an ad's name and status"
            )
        return self


class Ad(Schema):
    id: str
    urn: str
    ad_account_id: str
    ad_set_id: str | None = None
    ad_set_urn: str | None = None
    name: str | None = None
    status: str
    content_reference: str | None = None
    review_status: str | None = Field(
        default=None, description="PENDING, APPROVED, REJECTED or NEEDS_REVIEW; absent while DRAFT"
    )
    rejection_reasons: list[str] = []
    serving_hold_reasons: list[str] = Field(
        default_factory=list, description="Why the ad is not serving"
    )
    is_serving: bool = False
    test: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    dry_run: bool = False
