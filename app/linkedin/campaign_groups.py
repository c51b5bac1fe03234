"""Campaign groups (the dashboard's campaigns): payloads, the DTO mapping and LinkedIn's rules.

The rules are checked here before a dry-run write answers, so a dry run rejects what LinkedIn
would reject; a live write lets LinkedIn decide and maps its field errors back to DTO names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.campaigns.schemas import Campaign, CampaignCreate, CampaignUpdate
from app.core.errors import FieldError, InvalidInputError, wire_name
from app.linkedin.payloads import (
    ACCOUNT_URN,
    CAMPAIGN_GROUP_URN,
    epoch_ms,
    from_epoch_ms,
    money,
    parse_money,
)

DEFAULT_START_DELAY = timedelta(minutes=5)
# LinkedIn accepts campaign-group daily budgets only with dynamic budget optimization, which
# versions from 202504 on support.
DAILY_BUDGET_MIN_VERSION = "202504"
TERMINAL_STATUSES = frozenset({"CANCELED", "CANCELLED", "REMOVED", "PENDING_DELETION"})
# Status changes LinkedIn allows on a campaign group (from -> to).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"DRAFT", "ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"}),
    "ACTIVE": frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"}),
    "PAUSED": frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"}),
    "ARCHIVED": frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"}),
}
# Allowance for the time between validation here and LinkedIn reading the request.
PAST_START_GRACE = timedelta(seconds=60)


def check_status_change(current: str, requested: str, operation: str) -> None:
    allowed = ALLOWED_TRANSITIONS.get(current, frozenset())
    if requested not in allowed:
        raise InvalidInputError(
            f"status can't be changed from {current} to {requested}",
            operation=operation,
            fields=[FieldError("status", f"can't be changed from {current} to {requested}")],
        )


def _check_daily_budget(daily_budget: Decimal | None, api_version: str, operation: str) -> None:
    if daily_budget is not None and api_version[:6] < DAILY_BUDGET_MIN_VERSION:
        raise InvalidInputError(
            f"campaign daily budgets need LinkedIn-Version {DAILY_BUDGET_MIN_VERSION} or later "
            f"(configured: {api_version}); set a lifetime budget here, or daily budgets on "
            "the ad sets",
            operation=operation,
            fields=[FieldError("daily_budget", "not supported on campaigns by this API version")],
        )


def build_create_payload(
    dto: CampaignCreate, account_id: int, api_version: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    _check_daily_budget(dto.daily_budget, api_version, "create_campaign_group")
    start = dto.start_time or (now + DEFAULT_START_DELAY)
    schedule: dict[str, int] = {"start": epoch_ms(start)}
    if dto.end_time is not None:
        schedule["end"] = epoch_ms(dto.end_time)
    payload: dict[str, Any] = {
        "account": ACCOUNT_URN.format(account_id),
        "name": dto.name,
        "status": dto.status.value,
        "runSchedule": schedule,
    }
    if dto.lifetime_budget is not None:
        payload["totalBudget"] = money(dto.lifetime_budget, dto.currency)
    if dto.daily_budget is not None:
        payload["dailyBudget"] = money(dto.daily_budget, dto.currency)
        payload["budgetOptimization"] = {"budgetOptimizationStrategy": "DYNAMIC"}
    if dto.objective:
        payload["objectiveType"] = dto.objective
    return payload


def build_patch(dto: CampaignUpdate, current: dict[str, Any], api_version: str) -> dict[str, Any]:
    """Build the `$set` map for an update; schedule and budgets are sent whole."""
    changes: dict[str, Any] = {}
    fields = dto.model_fields_set
    _check_daily_budget(dto.daily_budget, api_version, "update_campaign_group")
    if "name" in fields and dto.name is not None:
        changes["name"] = dto.name
    if "status" in fields and dto.status is not None:
        changes["status"] = dto.status.value
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
    currency = (parse_money(current.get("totalBudget")) or (None, "USD"))[1] or "USD"
    if "lifetime_budget" in fields and dto.lifetime_budget is not None:
        changes["totalBudget"] = money(dto.lifetime_budget, currency)
    if "daily_budget" in fields and dto.daily_budget is not None:
        changes["dailyBudget"] = money(dto.daily_budget, currency)
    return changes


def validate_group(
    entity: dict[str, Any],
    *,
    account_currency: str,
    operation: str,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Check a whole campaign group the way LinkedIn does; raise with every failing field."""
    now = now or datetime.now(UTC)
    problems: list[FieldError] = []
    schedule = entity.get("runSchedule") or {}
    start = from_epoch_ms(schedule.get("start"))
    end = from_epoch_ms(schedule.get("end"))
    previous_schedule = (previous or {}).get("runSchedule") or {}
    start_changed = previous is None or previous_schedule.get("start") != schedule.get("start")

    if start is None:
        problems.append(FieldError("start_time", "is required"))
    elif start_changed and start < now - PAST_START_GRACE:
        problems.append(FieldError("start_time", "must not be in the past"))
    if start is not None and end is not None and end <= start:
        problems.append(FieldError("end_time", "must be after start_time"))
    if entity.get("totalBudget") is not None and end is None:
        problems.append(FieldError("end_time", "is required with a lifetime budget"))
    for key, field in (("totalBudget", "lifetime_budget"), ("dailyBudget", "daily_budget")):
        amount = parse_money(entity.get(key))
        if entity.get(key) is not None and amount is None:
            problems.append(FieldError(field, "is not a currency amount"))
        elif amount is not None:
            if amount[1] != account_currency:
                problems.append(
                    FieldError(
                        "currency",
                        f"{amount[1]} differs from the ad account's currency {account_currency}",
                    )
                )
            if amount[0] <= 0:
                problems.append(FieldError(field, "must be greater than 0"))
    if len(str(entity.get("name") or "")) > 100:
        problems.append(FieldError("name", "must be at most 100 characters"))
    if problems:
        summary = "; ".join(f"{wire_name(problem.field)} {problem.message}" for problem in problems)
        raise InvalidInputError(
            f"LinkedIn would reject this campaign: {summary}", operation=operation, fields=problems
        )
    if previous is not None and previous.get("status") != entity.get("status"):
        check_status_change(str(previous.get("status")), str(entity.get("status")), operation)


def to_dto(entity: dict[str, Any], account_id: int, *, dry_run: bool = False) -> Campaign:
    schedule = entity.get("runSchedule") or {}
    total = parse_money(entity.get("totalBudget"))
    daily = parse_money(entity.get("dailyBudget"))
    stamps = entity.get("changeAuditStamps") or {}
    entity_id = str(entity.get("id"))
    return Campaign(
        id=entity_id,
        urn=CAMPAIGN_GROUP_URN.format(entity_id),
        ad_account_id=str(account_id),
        name=str(entity.get("name") or ""),
        status=str(entity.get("status") or ""),
        start_time=from_epoch_ms(schedule.get("start")),
        end_time=from_epoch_ms(schedule.get("end")),
        daily_budget=daily[0] if daily else None,
        lifetime_budget=total[0] if total else None,
        currency=(total or daily or (None, None))[1],
        objective=entity.get("objectiveType"),
        serving_statuses=list(entity.get("servingStatuses") or []),
        test=bool(entity.get("test", False)),
        version=(entity.get("version") or {}).get("versionTag"),
        created_at=from_epoch_ms((stamps.get("created") or {}).get("time")),
        updated_at=from_epoch_ms((stamps.get("lastModified") or {}).get("time")),
        dry_run=dry_run,
    )
