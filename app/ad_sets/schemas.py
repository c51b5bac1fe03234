"""Ad set DTOs: the dashboard's ad set is LinkedIn's campaign (targeting and delivery)."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from app.core.schemas import InputSchema, Schema
from app.linkedin.validation import OBJECTIVE_TYPES, PLURAL_OBJECTIVES, urn_type

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
LOCALE_PATTERN = re.compile(r"^[a-z]{2}_[A-Z]{2}$")


class AdSetType(enum.StrEnum):
    TEXT_AD = "TEXT_AD"
    SPONSORED_UPDATES = "SPONSORED_UPDATES"
    SPONSORED_INMAILS = "SPONSORED_INMAILS"
    DYNAMIC = "DYNAMIC"


class CostType(enum.StrEnum):
    CPM = "CPM"
    CPC = "CPC"
    CPV = "CPV"


class AdSetFormat(enum.StrEnum):
    CAROUSEL = "CAROUSEL"
    FOLLOW_COMPANY = "FOLLOW_COMPANY"
    JOBS = "JOBS"
    SINGLE_IMAGE = "SINGLE_IMAGE"
    SINGLE_VIDEO = "SINGLE_VIDEO"
    SPONSORED_INMAIL = "SPONSORED_INMAIL"
    SPONSORED_MESSAGE = "SPONSORED_MESSAGE"
    SPONSORED_UPDATE_EVENT = "SPONSORED_UPDATE_EVENT"
    SPONSORED_UPDATE_NATIVE_DOCUMENT = "SPONSORED_UPDATE_NATIVE_DOCUMENT"
    SPOTLIGHT = "SPOTLIGHT"
    STANDARD_UPDATE = "STANDARD_UPDATE"
    TEXT_AD = "TEXT_AD"


class PoliticalIntent(enum.StrEnum):
    POLITICAL = "POLITICAL"
    NOT_POLITICAL = "NOT_POLITICAL"
    NOT_DECLARED = "NOT_DECLARED"


class CreativeSelection(enum.StrEnum):
    OPTIMIZED = "OPTIMIZED"
    ROUND_ROBIN = "ROUND_ROBIN"


class OptimizationTarget(enum.StrEnum):
    NONE = "NONE"
    ENGAGEMENT_CLICK = "ENGAGEMENT_CLICK"
    MAX_REACH = "MAX_REACH"
    MAX_IMPRESSION = "MAX_IMPRESSION"
    MAX_CLICK = "MAX_CLICK"
    MAX_CONVERSION = "MAX_CONVERSION"
    MAX_LEAD = "MAX_LEAD"
    MAX_VIDEO_VIEW = "MAX_VIDEO_VIEW"
    MAX_LANDING_PAGE_VIEW = "MAX_LANDING_PAGE_VIEW"
    MAX_COMPANY_FOLLOWERS = "MAX_COMPANY_FOLLOWERS"
    MAX_QUALIFIED_LEAD = "MAX_QUALIFIED_LEAD"
    TARGET_COST_PER_CLICK = "TARGET_COST_PER_CLICK"
    TARGET_COST_PER_IMPRESSION = "TARGET_COST_PER_IMPRESSION"
    TARGET_COST_PER_VIDEO_VIEW = "TARGET_COST_PER_VIDEO_VIEW"
    CAP_COST_AND_MAXIMIZE_CLICKS = "CAP_COST_AND_MAXIMIZE_CLICKS"
    CAP_COST_AND_MAXIMIZE_IMPRESSIONS = "CAP_COST_AND_MAXIMIZE_IMPRESSIONS"
    CAP_COST_AND_MAXIMIZE_VIDEO_VIEWS = "CAP_COST_AND_MAXIMIZE_VIDEO_VIEWS"
    CAP_COST_AND_MAXIMIZE_LEADS = "CAP_COST_AND_MAXIMIZE_LEADS"


class CreateStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"


class SettableStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"
    PENDING_DELETION = "PENDING_DELETION"


def check_facet_values(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("the facet has no values")
    for value in values:
        if urn_type(value) is None:
            raise ValueError(
                f"{value!r} is not a URN; LinkedIn takes the facet's entity URNs, "
                "e.g. urn:li:geo:103644278"
            )
    return values


# Checked per facet, so that an error names the facet (`targeting.include.locations`).
FacetValues = Annotated[list[str], AfterValidator(check_facet_values)]


class Targeting(InputSchema):
    """Audience facets: every `include` facet must match (AND), any `exclude` facet removes.

    Keys are LinkedIn facet names (`locations`, `seniorities`, ...) or full facet URNs
    (`urn:li:adTargetingFacet:locations`); values are the facet's entity URNs.
    """

    include: dict[str, FacetValues] = Field(
        description="Needs a locations or profileLocations facet, e.g. "
        '{"locations": ["urn:li:geo:103644278"]}'
    )
    exclude: dict[str, FacetValues] = Field(default_factory=dict)


def check_objective(value: str | None) -> str | None:
    if value is None:
        return value
    if value in PLURAL_OBJECTIVES:
        raise ValueError(
            f"{value} is the plural spelling, which LinkedIn rejects; use "
            f"{PLURAL_OBJECTIVES[value]}"
        )
    if value not in OBJECTIVE_TYPES:
        raise ValueError(f"{value!r} is not one of {', '.join(OBJECTIVE_TYPES)}")
    return value


def check_locale(value: str) -> str:
    if not LOCALE_PATTERN.match(value):
        raise ValueError("must be language_COUNTRY, e.g. en_US")
    return value


class AdSetCreate(InputSchema):
    campaign_id: str = Field(
        min_length=1, description="Parent campaign (LinkedIn campaign group) id or URN"
    )
    name: str = Field(min_length=1, max_length=255)
    type: AdSetType = AdSetType.SPONSORED_UPDATES
    format: AdSetFormat | None = None
    objective: str | None = Field(
        default=None,
        description="LinkedIn objectiveType, singular spelling (WEBSITE_VISIT); immutable",
    )
    cost_type: CostType
    bid: Money | None = Field(
        default=None,
        description="Bid (unitCost) in the currency; "
        "required unless an optimization target bids automatically",
    )
    daily_budget: Money | None = Field(default=None, description="Per UTC day")
    lifetime_budget: Money | None = None
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    start_time: datetime | None = Field(
        default=None, description="Defaults to five minutes from now; must not be in the past"
    )
    end_time: datetime | None = None
    locale: str = Field(default="en_US", description="language_COUNTRY")
    targeting: Targeting
    offsite_delivery_enabled: bool = Field(description="Serve on the LinkedIn Audience Network")
    political_intent: PoliticalIntent
    creative_selection: CreativeSelection | None = None
    optimization_target: OptimizationTarget | None = None
    audience_expansion_enabled: bool | None = None
    associated_entity: str | None = Field(
        default=None, description="Organization URN whose posts the ads sponsor"
    )
    status: CreateStatus = CreateStatus.PAUSED

    @field_validator("objective")
    @classmethod
    def _check_objective(cls, value: str | None) -> str | None:
        return check_objective(value)

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        return check_locale(value)

    @model_validator(mode="after")
    def _check_schedule(self) -> AdSetCreate:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class AdSetUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    type: AdSetType | None = None
    cost_type: CostType | None = None
    bid: Money | None = None
    daily_budget: Money | None = None
    lifetime_budget: Money | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    locale: str | None = None
    targeting: Targeting | None = None
    offsite_delivery_enabled: bool | None = None
    political_intent: PoliticalIntent | None = None
    creative_selection: CreativeSelection | None = None
    optimization_target: OptimizationTarget | None = None
    audience_expansion_enabled: bool | None = None
    status: SettableStatus | None = None

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str | None) -> str | None:
        return None if value is None else check_locale(value)

    @model_validator(mode="after")
    def _check_not_empty(self) -> AdSetUpdate:
        if not self.model_fields_set:
            raise ValueError("the update names no field to change")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class TargetingOut(Schema):
    include: dict[str, list[str]] = {}
    exclude: dict[str, list[str]] = {}


class AdSet(Schema):
    id: str
    urn: str
    ad_account_id: str
    campaign_id: str | None = None
    campaign_urn: str | None = None
    name: str
    status: str
    type: str | None = None
    format: str | None = None
    objective: str | None = None
    cost_type: str | None = None
    bid: Decimal | None = None
    daily_budget: Decimal | None = None
    lifetime_budget: Decimal | None = None
    currency: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    locale: str | None = None
    targeting: TargetingOut | None = None
    offsite_delivery_enabled: bool | None = None
    political_intent: str | None = None
    creative_selection: str | None = None
    optimization_target: str | None = None
    audience_expansion_enabled: bool | None = None
    associated_entity: str | None = None
    serving_statuses: list[str] = []
    test: bool = False
    version: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    dry_run: bool = False
