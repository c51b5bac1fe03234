"""Experiment DTOs: variants as ad sets (LinkedIn campaigns) under one campaign (campaign group)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from app.ad_sets.schemas import (
    AdSetFormat,
    AdSetType,
    CostType,
    CreativeSelection,
    OptimizationTarget,
    PoliticalIntent,
    Targeting,
    TargetingOut,
    check_locale,
    check_objective,
)
from app.ads.schemas import AdContent
from app.campaigns.schemas import CampaignCreate
from app.core.schemas import InputSchema, Schema

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
VariantKey = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="Short label, unique in the experiment, e.g. A",
    ),
]


class PrimaryMetric(enum.StrEnum):
    CTR = "ctr"
    CONVERSION_RATE = "conversion_rate"


class AdSetSettings(InputSchema):
    """Ad set fields every variant shares; each variant adds its own targeting and ads."""

    type: AdSetType = AdSetType.SPONSORED_UPDATES
    format: AdSetFormat | None = None
    objective: str | None = Field(
        default=None, description="LinkedIn objectiveType, singular spelling (WEBSITE_VISIT)"
    )
    cost_type: CostType
    bid: Money | None = None
    daily_budget: Money | None = Field(default=None, description="Per variant, per UTC day")
    lifetime_budget: Money | None = None
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    start_time: datetime | None = None
    end_time: datetime | None = None
    locale: str = "en_US"
    offsite_delivery_enabled: bool
    political_intent: PoliticalIntent
    creative_selection: CreativeSelection | None = None
    optimization_target: OptimizationTarget | None = None
    audience_expansion_enabled: bool | None = None
    associated_entity: str | None = None

    @field_validator("objective")
    @classmethod
    def _check_objective(cls, value: str | None) -> str | None:
        return check_objective(value)

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        return check_locale(value)


class VariantAd(InputSchema):
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Needs LinkedIn-Version 202410 or later",
    )
    content: AdContent


class VariantCreate(InputSchema):
    key: VariantKey
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The ad set's name; defaults to '<experiment> [<key>]'",
    )
    control: bool = Field(
        default=False, description="At most one variant; the first one when none says so"
    )
    targeting: Targeting
    ads: list[VariantAd] = Field(
        min_length=1,
        description="Created ACTIVE in the variant's ad "
        "set, which alone decides whether they serve",
    )


class ExperimentCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    campaign: CampaignCreate | None = Field(
        default=None, description="A new parent campaign; its status defaults to ACTIVE here"
    )
    campaign_id: str | None = Field(default=None, description="An existing parent campaign")
    ad_set: AdSetSettings
    variants: list[VariantCreate] = Field(min_length=2)
    primary_metric: PrimaryMetric = PrimaryMetric.CTR

    @model_validator(mode="after")
    def _check_shape(self) -> ExperimentCreate:
        if (self.campaign is None) == (self.campaign_id is None):
            raise ValueError("give exactly one of campaign (a new one) and campaign_id")
        keys = [variant.key for variant in self.variants]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"variant keys must be unique; repeated: {', '.join(duplicates)}")
        controls = [variant.key for variant in self.variants if variant.control]
        if len(controls) > 1:
            raise ValueError(f"only one variant can be the control; marked: {', '.join(controls)}")
        return self

    @property
    def control_key(self) -> str:
        marked = [variant.key for variant in self.variants if variant.control]
        return marked[0] if marked else self.variants[0].key


class VariantSelection(InputSchema):
    variants: list[VariantKey] | None = Field(
        default=None, min_length=1, description="Defaults to every variant"
    )


class RotateRequest(InputSchema):
    variant: VariantKey


class ConcludeRequest(InputSchema):
    winner: VariantKey | None = Field(
        default=None,
        description="Defaults to the winner the results call; without one the request fails",
    )
    others: Literal["PAUSED", "ARCHIVED"] = "PAUSED"


# ---- responses ---------------------------------------------------------------------------------


class ExperimentAdOut(Schema):
    position: int
    ad_id: str | None
    state: str
    content: dict[str, Any]


class ExperimentVariantOut(Schema):
    key: str
    name: str
    control: bool
    status: str | None = Field(description="The ad set's status as this service last set it")
    ad_set_id: str | None
    state: str = Field(description="pending, sending (outcome unknown) or created")
    targeting: TargetingOut
    ads: list[ExperimentAdOut]


class ExperimentOut(Schema):
    id: uuid.UUID
    ad_account_id: str
    name: str
    status: str = Field(
        description="creating, failed (retry the create with the same "
        "Idempotency-Key), running or concluded"
    )
    primary_metric: str
    campaign_id: str | None
    campaign_created: bool
    campaign_state: str
    winner: str | None
    dry_run: bool
    last_error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    concluded_at: datetime | None
    variants: list[ExperimentVariantOut]


class MetricComparison(Schema):
    control_rate: float | None
    treatment_rate: float | None
    difference: float | None = Field(description="treatment - control, in absolute rate")
    relative_lift: float | None = Field(description="difference / control rate")
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None
    significant: bool


class SideCounts(Schema):
    impressions: int
    clicks: int
    conversions: int
    days: int


class Comparison(Schema):
    variant: str
    control: str
    basis: Literal["overlap_days", "active_days"] = Field(
        description="overlap_days: only days both were active; active_days: each variant's "
        "own active days"
    )
    control_counts: SideCounts
    treatment_counts: SideCounts
    sample_sufficient: bool
    ctr: MetricComparison
    conversion_rate: MetricComparison


class VariantResult(Schema):
    key: str
    name: str
    control: bool
    status: str | None
    active_days: int
    impressions: int
    clicks: int
    conversions: int
    spend_usd: str | None = Field(description="None when a day has no USD figure")
    ctr: float | None
    conversion_rate: float | None = Field(description="Conversions per click")
    cpc: str | None = Field(description="USD per click")
    cpa: str | None = Field(description="USD per conversion")
    impressions_per_active_day: float | None
    spend_usd_per_active_day: str | None
    sample_sufficient: bool


class ResultsMethod(Schema):
    test: str
    interval: str
    confidence: float
    alpha: float = Field(description="Per-comparison significance level after the Bonferroni split")
    comparisons: int
    primary_metric: str
    days: str
    minimum_sample: dict[str, int]
    winner_rule: str


class ExperimentResults(Schema):
    experiment_id: uuid.UUID
    status: str
    start: date | None
    end: date | None
    decision: Literal["winner", "insufficient_sample", "no_significant_difference"] = Field(
        description="winner: `winner` names the variant (the control when every treatment is "
        "significantly worse)"
    )
    winner: str | None
    method: ResultsMethod
    variants: list[VariantResult]
    comparisons: list[Comparison]
    analytics_pulled_at: datetime | None
