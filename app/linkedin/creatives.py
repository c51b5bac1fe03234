"""Creatives (the dashboard's ads): payloads, the DTO mapping and the dry-run check."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from app.ads.schemas import Ad, AdCreate, AdUpdate
from app.core.errors import FieldError, InvalidInputError, wire_name
from app.linkedin import validation
from app.linkedin.payloads import (
    ACCOUNT_URN,
    CAMPAIGN_URN,
    CREATIVE_FIELDS,
    CREATIVE_URN,
    dto_field,
    epoch_ms,
    from_epoch_ms,
    id_from_urn,
)


def campaign_id_of(value: str) -> str:
    """Return the campaign id from an id or a `urn:li:sponsoredCampaign:` URN."""
    return id_from_urn(value) if value.startswith("urn:") else value


def creative_urn_of(value: str) -> str:
    """Return the creative URN for an id (`123`, `dryrun-...`) or a URN."""
    return value if value.startswith("urn:") else CREATIVE_URN.format(value)


def build_create_payload(dto: AdCreate, account_id: int, author: str | None) -> dict[str, Any]:
    """Build the creative; inline content becomes `inlineContent.post` (for createInline).

    `author` is the organization that posts inline content when the DTO names none.
    """
    payload: dict[str, Any] = {
        "campaign": CAMPAIGN_URN.format(campaign_id_of(dto.ad_set_id)),
        "intendedStatus": dto.status.value,
    }
    if dto.name is not None:
        payload["name"] = dto.name
    content = dto.content
    if not content.is_inline:
        payload["content"] = {"reference": content.reference}
        return payload
    post: dict[str, Any] = {
        "adContext": {"dscAdAccount": ACCOUNT_URN.format(account_id), "dscStatus": "ACTIVE"},
        "author": content.author or author,
        "commentary": content.text or "",
        "visibility": "PUBLIC",
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": True,
        "content": {"media": {"id": content.media_urn}},
    }
    if content.headline is not None:
        post["content"]["media"]["title"] = content.headline
    if content.call_to_action is not None:
        post["contentCallToActionLabel"] = content.call_to_action.value
    if content.landing_page is not None:
        post["contentLandingPage"] = content.landing_page
    payload["inlineContent"] = {"post": post}
    return payload


def build_patch(dto: AdUpdate) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in dto.model_fields_set and dto.name is not None:
        changes["name"] = dto.name
    if "status" in dto.model_fields_set and dto.status is not None:
        changes["intendedStatus"] = dto.status.value
    return changes


def raise_problems(problems: list[FieldError], operation: str) -> None:
    if not problems:
        return
    # Each budget and the bid report a currency mismatch; the caller needs it once.
    fields = list(dict.fromkeys(to_dto_fields(problems)))
    summary = "; ".join(f"{wire_name(item.field)} {item.message}" for item in fields)
    raise InvalidInputError(
        f"LinkedIn would reject this ad: {summary}", operation=operation, fields=fields
    )


def to_dto_fields(problems: list[FieldError]) -> list[FieldError]:
    return [FieldError(dto_field(item.field, CREATIVE_FIELDS), item.message) for item in problems]


def hold_reasons(creative: dict[str, Any]) -> list[str]:
    """Serving-hold reasons LinkedIn shows for a creative, from its own status and review.

    NOTE: LinkedIn also holds a creative for its campaign's, group's and account's state and for
    media processing; a dry run shows only the creative's own reasons.
    """
    reasons = []
    if creative.get("intendedStatus") != "ACTIVE":
        reasons.append("STOPPED")
    review = (creative.get("review") or {}).get("status")
    if review in ("PENDING", "NEEDS_REVIEW"):
        reasons.append("UNDER_REVIEW")
    elif review == "REJECTED":
        reasons.append("REJECTED")
    return reasons


def synthesize(
    payload: dict[str, Any], creative_id: str, account_id: int, *, test: bool
) -> dict[str, Any]:
    """Build what LinkedIn would hold after creating `payload`, for a dry run."""
    now = epoch_ms(datetime.now(UTC))
    creative = {
        key: copy.deepcopy(value) for key, value in payload.items() if key != "inlineContent"
    }
    if "inlineContent" in payload:
        creative["content"] = {"reference": f"urn:li:share:{creative_id}"}
    creative.update(
        {
            "id": CREATIVE_URN.format(creative_id),
            "account": ACCOUNT_URN.format(account_id),
            "isTest": test,
            "createdAt": now,
            "lastModifiedAt": now,
        }
    )
    if creative["intendedStatus"] != "DRAFT":
        creative["review"] = {"status": "PENDING"}
    return refresh_serving(creative)


def apply_patch(creative: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(creative)
    updated.update(copy.deepcopy(changes))
    updated["lastModifiedAt"] = epoch_ms(datetime.now(UTC))
    if creative.get("intendedStatus") == "DRAFT" and updated.get("intendedStatus") != "DRAFT":
        # LinkedIn starts the review when a creative leaves DRAFT.
        updated.setdefault("review", {"status": "PENDING"})
    return refresh_serving(updated)


def refresh_serving(creative: dict[str, Any]) -> dict[str, Any]:
    reasons = hold_reasons(creative)
    creative["isServing"] = not reasons
    if reasons:
        creative["servingHoldReasons"] = reasons
    else:
        creative.pop("servingHoldReasons", None)
    return creative


def to_dto(creative: dict[str, Any], account_id: int, *, dry_run: bool = False) -> Ad:
    urn = str(creative.get("id") or "")
    campaign = creative.get("campaign")
    review = creative.get("review") or {}
    return Ad(
        id=id_from_urn(urn),
        urn=urn,
        ad_account_id=str(account_id),
        ad_set_id=id_from_urn(campaign) if campaign else None,
        ad_set_urn=campaign,
        name=creative.get("name"),
        status=str(creative.get("intendedStatus") or ""),
        content_reference=(creative.get("content") or {}).get("reference"),
        review_status=review.get("status"),
        rejection_reasons=list(review.get("rejectionReasons") or []),
        serving_hold_reasons=list(creative.get("servingHoldReasons") or []),
        is_serving=bool(creative.get("isServing", False)),
        test=bool(creative.get("isTest", False)),
        created_at=from_epoch_ms(creative.get("createdAt")),
        updated_at=from_epoch_ms(creative.get("lastModifiedAt")),
        dry_run=dry_run,
    )


def check_create(
    payload: dict[str, Any],
    *,
    campaign: dict[str, Any] | None,
    api_version: str,
    media_exists: bool | None,
    operation: str,
) -> None:
    raise_problems(
        validation.check_creative_create(
            payload, campaign=campaign, api_version=api_version, media_exists=media_exists
        ),
        operation,
    )


def check_update(
    changes: dict[str, Any], current: dict[str, Any], api_version: str, operation: str
) -> None:
    raise_problems(validation.check_creative_update(changes, current, api_version), operation)
