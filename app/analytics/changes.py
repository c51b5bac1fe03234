"""State changes of campaigns, ad sets and ads, found by comparing with the last-seen state.

LinkedIn sends no webhooks, so the sync reads statuses, serving statuses (serving hold reasons
for creatives) and creative reviews, and each difference becomes an event. The first sighting of
an entity only records its state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.analytics.models import EntityState

# Campaign statuses the sync reads; LinkedIn's campaign search needs at least one criterion.
CAMPAIGN_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "ARCHIVED",
    "COMPLETED",
    "CANCELED",
    "DRAFT",
    "PENDING_DELETION",
    "REMOVED",
)
# Dashboard names of the entity types.
LABELS = {"campaign": "campaign", "ad_set": "ad set", "ad": "ad"}


@dataclass(frozen=True)
class Observed:
    entity_type: str
    entity_id: str
    status: str | None
    serving_statuses: list[str]
    review_status: str | None = None
    rejection_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    type: str
    message: str
    data: dict[str, Any]


def observe_group(element: Mapping[str, Any]) -> Observed:
    return Observed(
        "campaign",
        str(element.get("id")),
        element.get("status"),
        list(element.get("servingStatuses") or []),
    )


def observe_campaign(element: Mapping[str, Any]) -> Observed:
    return Observed(
        "ad_set",
        str(element.get("id")),
        element.get("status"),
        list(element.get("servingStatuses") or []),
    )


def observe_creative(element: Mapping[str, Any]) -> Observed:
    review = element.get("review") or {}
    return Observed(
        "ad",
        str(element.get("id", "")).rsplit(":", 1)[-1],
        element.get("intendedStatus"),
        list(element.get("servingHoldReasons") or []),
        review.get("status"),
        list(review.get("rejectionReasons") or []),
    )


def _holds(statuses: Sequence[str], marker: str) -> set[str]:
    return {status for status in statuses if marker in status}


def changes(before: EntityState | None, now: Observed) -> list[Change]:
    """List the events between the stored state and the observed one."""
    if before is None:
        return []
    label = f"{LABELS[now.entity_type]} {now.entity_id}"
    found: list[Change] = []
    if now.status != before.status:
        found.append(
            Change(
                "status_changed",
                f"{label} status changed from {before.status} to {now.status}",
                {"from": before.status, "to": now.status},
            )
        )
        if now.status == "COMPLETED":
            found.append(Change("completed", f"{label} completed", {"from": before.status}))
    previous = list(before.serving_statuses or [])
    for event_type, marker, words in (
        ("budget_hold", "BUDGET_HOLD", "is on a budget hold"),
        ("end_date_hold", "END_DATE_HOLD", "reached its end date"),
    ):
        added = sorted(_holds(now.serving_statuses, marker) - _holds(previous, marker))
        if added:
            found.append(
                Change(
                    event_type,
                    f"{label} {words} ({', '.join(added)})",
                    {"holds": added, "servingStatuses": now.serving_statuses},
                )
            )
    if now.review_status != before.review_status:
        if now.review_status == "REJECTED":
            reasons = ", ".join(now.rejection_reasons) or "no reason given"
            found.append(
                Change(
                    "creative_rejected",
                    f"{label} was rejected in review: {reasons}",
                    {"from": before.review_status, "rejectionReasons": now.rejection_reasons},
                )
            )
        elif now.review_status == "APPROVED":
            found.append(
                Change(
                    "creative_approved",
                    f"{label} was approved in review",
                    {"from": before.review_status},
                )
            )
    return found
