"""LinkedIn's wire shapes for money, schedules and URNs, and the DTO <-> LinkedIn mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ACCOUNT_URN = "urn:li:sponsoredAccount:{}"
CAMPAIGN_GROUP_URN = "urn:li:sponsoredCampaignGroup:{}"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:{}"
CREATIVE_URN = "urn:li:sponsoredCreative:{}"

DRY_RUN_PREFIX = "dryrun-"


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """LinkedIn's currency amount: the amount as a decimal string, never a float."""
    return {"amount": format(amount.normalize(), "f"), "currencyCode": currency}


def parse_money(value: Any) -> tuple[Decimal, str] | None:
    if not isinstance(value, dict) or "amount" not in value:
        return None
    try:
        return Decimal(str(value["amount"])), str(value.get("currencyCode") or "")
    except InvalidOperation:
        return None


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_epoch_ms(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def id_from_urn(value: str) -> str:
    return value.rsplit(":", 1)[-1]


def is_dry_run_id(value: str) -> bool:
    return value.startswith(DRY_RUN_PREFIX)


# LinkedIn's input paths on campaign groups, as the DTO names them (for field-level errors).
CAMPAIGN_GROUP_FIELDS = {
    "/name": "name",
    "/status": "status",
    "/runSchedule": "start_time",
    "/runSchedule/start": "start_time",
    "/runSchedule/end": "end_time",
    "/totalBudget": "lifetime_budget",
    "/totalBudget/amount": "lifetime_budget",
    "/totalBudget/currencyCode": "currency",
    "/dailyBudget": "daily_budget",
    "/dailyBudget/amount": "daily_budget",
    "/dailyBudget/currencyCode": "currency",
    "/objectiveType": "objective",
    "/account": "ad_account_id",
}


def dto_field(linkedin_path: str, table: dict[str, str]) -> str:
    path = linkedin_path if linkedin_path.startswith("/") else "/" + linkedin_path
    while path:
        if path in table:
            return table[path]
        path = path.rsplit("/", 1)[0]
    return linkedin_path


# LinkedIn's input paths on campaigns (the dashboard's ad sets), as the DTO names them.
CAMPAIGN_FIELDS = {
    "/account": "ad_account_id",
    "/campaignGroup": "campaign_id",
    "/name": "name",
    "/type": "type",
    "/format": "format",
    "/objectiveType": "objective",
    "/costType": "cost_type",
    "/unitCost": "bid",
    "/unitCost/amount": "bid",
    "/unitCost/currencyCode": "currency",
    "/dailyBudget": "daily_budget",
    "/dailyBudget/amount": "daily_budget",
    "/dailyBudget/currencyCode": "currency",
    "/totalBudget": "lifetime_budget",
    "/totalBudget/amount": "lifetime_budget",
    "/totalBudget/currencyCode": "currency",
    "/runSchedule": "start_time",
    "/runSchedule/start": "start_time",
    "/runSchedule/end": "end_time",
    "/locale": "locale",
    "/targetingCriteria": "targeting",
    "/targetingCriteria/include": "targeting.include",
    "/targetingCriteria/exclude": "targeting.exclude",
    "/offsiteDeliveryEnabled": "offsite_delivery_enabled",
    "/politicalIntent": "political_intent",
    "/creativeSelection": "creative_selection",
    "/optimizationTargetType": "optimization_target",
    "/audienceExpansionEnabled": "audience_expansion_enabled",
    "/associatedEntity": "associated_entity",
    "/status": "status",
}

# LinkedIn's input paths on creatives (the dashboard's ads), as the DTO names them.
CREATIVE_FIELDS = {
    "/campaign": "ad_set_id",
    "/name": "name",
    "/intendedStatus": "status",
    "/content": "content",
    "/content/reference": "content.reference",
    "/inlineContent": "content",
    "/inlineContent/post/author": "content.author",
    "/inlineContent/post/commentary": "content.text",
    "/inlineContent/post/contentLandingPage": "content.landing_page",
    "/inlineContent/post/contentCallToActionLabel": "content.call_to_action",
    "/inlineContent/post/content/media/id": "content.media_urn",
    "/inlineContent/post/content/media/title": "content.headline",
}

# Media URNs: the versioned Images, Videos and Documents APIs, and the legacy Vector Assets API.
IMAGE_URN = "urn:li:image:{}"
VIDEO_URN = "urn:li:video:{}"
DOCUMENT_URN = "urn:li:document:{}"
DIGITAL_MEDIA_ASSET_URN = "urn:li:digitalmediaAsset:{}"
