"""Campaigns (the dashboard's ad sets): payloads, the DTO mapping and the dry-run check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.ad_sets.schemas import AdSet, AdSetCreate, AdSetUpdate, Targeting, TargetingOut
from app.core.errors import FieldError, InvalidInputError, wire_name
from app.linkedin import validation
from app.linkedin.payloads import (
    ACCOUNT_URN,
    CAMPAIGN_FIELDS,
    CAMPAIGN_GROUP_URN,
    CAMPAIGN_URN,
    dto_field,
    epoch_ms,
    from_epoch_ms,
    id_from_urn,
    money,
    parse_money,
)

DEFAULT_START_DELAY = timedelta(minutes=5)
# Budget and bid fields of the DTO and LinkedIn's names for them.
MONEY_FIELDS = (
    ("daily_budget", "dailyBudget"),
    ("lifetime_budget", "totalBudget"),
    ("bid", "unitCost"),
)
# DTO fields sent as they are, under LinkedIn's names.
PLAIN_FIELDS = (
    ("name", "name"),
    ("type", "type"),
    ("cost_type", "costType"),
    ("offsite_delivery_enabled", "offsiteDeliveryEnabled"),
    ("political_intent", "politicalIntent"),
    ("creative_selection", "creativeSelection"),
    ("optimization_target", "optimizationTargetType"),
    ("audience_expansion_enabled", "audienceExpansionEnabled"),
    ("status", "status"),
)


def group_id_of(value: str) -> str:
    """Return the campaign group id from an id or a `urn:li:sponsoredCampaignGroup:` URN."""
    return id_from_urn(value) if value.startswith("urn:") else value


def facet_urn(name: str) -> str:
    return name if name.startswith("urn:") else validation.FACET_PREFIX + name


def targeting_criteria(targeting: Targeting) -> dict[str, Any]:
    """Build LinkedIn's `targetingCriteria`: one AND clause per included facet."""
    include = [{"or": {facet_urn(facet): list(urns)}} for facet, urns in targeting.include.items()]
    criteria: dict[str, Any] = {"include": {"and": include}}
    if targeting.exclude:
        criteria["exclude"] = {
            "or": {facet_urn(facet): list(urns) for facet, urns in targeting.exclude.items()}
        }
    return criteria


def targeting_out(criteria: Any) -> TargetingOut | None:
    if not isinstance(criteria, dict):
        return None
    include: dict[str, list[str]] = {}
    for clause in (criteria.get("include") or {}).get("and") or []:
        for facet, urns in ((clause or {}).get("or") or {}).items():
            include.setdefault(facet.removeprefix(validation.FACET_PREFIX), []).extend(urns)
    exclude = {
        facet.removeprefix(validation.FACET_PREFIX): list(urns)
        for facet, urns in ((criteria.get("exclude") or {}).get("or") or {}).items()
    }
    return TargetingOut(include=include, exclude=exclude)


def locale_of(text: str) -> dict[str, str]:
    language, country = text.split("_", 1)
    return {"country": country, "language": language}


def build_create_payload(
    dto: AdSetCreate, account_id: int, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    start = dto.start_time or (now + DEFAULT_START_DELAY)
    schedule: dict[str, int] = {"start": epoch_ms(start)}
    if dto.end_time is not None:
        schedule["end"] = epoch_ms(dto.end_time)
    payload: dict[str, Any] = {
        "account": ACCOUNT_URN.format(account_id),
        "campaignGroup": CAMPAIGN_GROUP_URN.format(group_id_of(dto.campaign_id)),
        "locale": locale_of(dto.locale),
        "runSchedule": schedule,
        "targetingCriteria": targeting_criteria(dto.targeting),
    }
    for dto_name, linkedin_name in PLAIN_FIELDS:
        value = getattr(dto, dto_name)
        if value is not None:
            payload[linkedin_name] = value.value if hasattr(value, "value") else value
    for dto_name, linkedin_name in MONEY_FIELDS:
        amount: Decimal | None = getattr(dto, dto_name)
        if amount is not None:
            payload[linkedin_name] = money(amount, dto.currency)
    if dto.bid is None and dto.optimization_target not in (None, "NONE"):
        # LinkedIn requires unitCost; with automated bidding a zero bid is the usual value.
        payload["unitCost"] = money(Decimal("0"), dto.currency)
    if dto.format is not None:
        payload["format"] = dto.format.value
    if dto.objective is not None:
        payload["objectiveType"] = dto.objective
    if dto.associated_entity is not None:
        payload["associatedEntity"] = dto.associated_entity
    return payload


def build_patch(dto: AdSetUpdate, current: dict[str, Any]) -> dict[str, Any]:
    """Build the `$set` map for an update; schedule, targeting and money are sent whole."""
    changes: dict[str, Any] = {}
    fields = dto.model_fields_set
    for dto_name, linkedin_name in PLAIN_FIELDS:
        value = getattr(dto, dto_name)
        if dto_name in fields and value is not None:
            changes[linkedin_name] = value.value if hasattr(value, "value") else value
    if "start_time" in fields or "end_time" in fields:
        schedule = dict(current.get("runSchedule") or {})
        if dto.start_time is not None:
            schedule["start"] = epoch_ms(dto.start_time)
        if "end_time" in fields:
            if dto.end_time is None:
                schedule.pop("end", None)
            else:
                schedule["end"] = epoch_ms(dto.end_time)
        changes["runSchedule"] = schedule
    currency = _currency_of(current)
    for dto_name, linkedin_name in MONEY_FIELDS:
        amount = getattr(dto, dto_name)
        if dto_name in fields and amount is not None:
            changes[linkedin_name] = money(amount, currency)
    if "locale" in fields and dto.locale is not None:
        changes["locale"] = locale_of(dto.locale)
    if "targeting" in fields and dto.targeting is not None:
        changes["targetingCriteria"] = targeting_criteria(dto.targeting)
    return changes


def _currency_of(entity: dict[str, Any]) -> str:
    for key in ("unitCost", "dailyBudget", "totalBudget"):
        parsed = parse_money(entity.get(key))
        if parsed is not None and parsed[1]:
            return parsed[1]
    return "USD"


def to_dto_fields(problems: list[FieldError]) -> list[FieldError]:
    return [FieldError(dto_field(item.field, CAMPAIGN_FIELDS), item.message) for item in problems]


def raise_problems(problems: list[FieldError], operation: str) -> None:
    if not problems:
        return
    # Each budget and the bid report a currency mismatch; the caller needs it once.
    fields = list(dict.fromkeys(to_dto_fields(problems)))
    summary = "; ".join(f"{wire_name(item.field)} {item.message}" for item in fields)
    raise InvalidInputError(
        f"LinkedIn would reject this ad set: {summary}", operation=operation, fields=fields
    )


def validate_campaign(
    entity: dict[str, Any],
    *,
    account_id: int,
    account_currency: str,
    group: dict[str, Any] | None,
    operation: str,
    previous: dict[str, Any] | None = None,
) -> None:
    """Raise with every DTO field LinkedIn would reject in this whole campaign."""
    problems = validation.check_campaign(
        entity,
        account_urn=ACCOUNT_URN.format(account_id),
        account_currency=account_currency,
        group=group,
        previous=previous,
    )
    raise_problems(problems, operation)


def to_dto(entity: dict[str, Any], account_id: int, *, dry_run: bool = False) -> AdSet:
    schedule = entity.get("runSchedule") or {}
    amounts = {
        key: parse_money(entity.get(key)) for key in ("dailyBudget", "totalBudget", "unitCost")
    }
    currency = next((parsed[1] for parsed in amounts.values() if parsed), None)
    locale = entity.get("locale") or {}
    stamps = entity.get("changeAuditStamps") or {}
    entity_id = str(entity.get("id"))
    group_urn = entity.get("campaignGroup")
    return AdSet(
        id=entity_id,
        urn=CAMPAIGN_URN.format(entity_id),
        ad_account_id=str(account_id),
        campaign_id=id_from_urn(group_urn) if group_urn else None,
        campaign_urn=group_urn,
        name=str(entity.get("name") or ""),
        status=str(entity.get("status") or ""),
        type=entity.get("type"),
        format=entity.get("format"),
        objective=entity.get("objectiveType"),
        cost_type=entity.get("costType"),
        bid=_amount(amounts["unitCost"]),
        daily_budget=_amount(amounts["dailyBudget"]),
        lifetime_budget=_amount(amounts["totalBudget"]),
        currency=currency,
        start_time=from_epoch_ms(schedule.get("start")),
        end_time=from_epoch_ms(schedule.get("end")),
        locale=f"{locale['language']}_{locale['country']}" if locale.get("language") else None,
        targeting=targeting_out(entity.get("targetingCriteria")),
        offsite_delivery_enabled=entity.get("offsiteDeliveryEnabled"),
        political_intent=entity.get("politicalIntent"),
        creative_selection=entity.get("creativeSelection"),
        optimization_target=entity.get("optimizationTargetType"),
        audience_expansion_enabled=entity.get("audienceExpansionEnabled"),
        associated_entity=entity.get("associatedEntity"),
        serving_statuses=list(entity.get("servingStatuses") or []),
        test=bool(entity.get("test", False)),
        version=(entity.get("version") or {}).get("versionTag"),
        created_at=from_epoch_ms((stamps.get("created") or {}).get("time")),
        updated_at=from_epoch_ms((stamps.get("lastModified") or {}).get("time")),
        dry_run=dry_run,
    )


def _amount(parsed: tuple[Decimal, str] | None) -> Decimal | None:
    return parsed[0] if parsed else None
