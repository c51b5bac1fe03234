"""Admin API under `/_sandbox/` for tests, benchmarks and demos. Not part of LinkedIn's API."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import Response

from app.sandbox.faults import FaultRule
from app.sandbox.oauth import issue_grant
from app.sandbox.runtime import get_sandbox
from app.sandbox.state import (
    ACCOUNT_URN,
    CAMPAIGN_URN,
    CREATIVE_URN,
    GROUP_URN,
    PERSON_URN,
    AdEntity,
)

router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    get_sandbox(request).reset()
    return {"reset": True}


@router.get("/requests")
async def list_requests(
    request: Request, path_prefix: str = "", method: str = ""
) -> dict[str, Any]:
    entries = [
        entry
        for entry in get_sandbox(request).request_log
        if entry["path"].startswith(path_prefix)
        and (not method or entry["method"].upper() == method.upper())
    ]
    return {"requests": entries, "count": len(entries)}


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    get_sandbox(request).request_log.clear()
    return Response(status_code=204)


@router.post("/faults")
async def add_faults(request: Request) -> dict[str, Any]:
    """Add fault rules from a body that is a list of rules or `{"rules": [...]}`."""
    payload = await request.json()
    if isinstance(payload, dict) and "rules" in payload:
        payload = payload["rules"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise HTTPException(422, "Invalid body: expected a list of fault rules")
    try:
        rules = [FaultRule.model_validate(item) for item in payload]
    except ValidationError as error:
        raise HTTPException(422, error.errors(include_url=False, include_context=False)) from error
    sandbox = get_sandbox(request)
    sandbox.faults.add(rules)
    return {"faults": sandbox.faults.describe()}


@router.get("/faults")
async def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": get_sandbox(request).faults.describe()}


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    get_sandbox(request).faults.clear()
    return Response(status_code=204)


class ClockChange(BaseModel):
    # Absolute shift of the sandbox clock from real time, in seconds.
    offset_seconds: float | None = None
    # Relative shift added to the current offset, in seconds.
    advance_seconds: float | None = None


@router.post("/clock")
async def set_clock(request: Request, change: ClockChange) -> dict[str, Any]:
    state = get_sandbox(request).state
    if change.offset_seconds is not None:
        state.clock_offset = change.offset_seconds
    if change.advance_seconds is not None:
        state.clock_offset += change.advance_seconds
    return {"offset_seconds": state.clock_offset, "now_ms": state.now_ms()}


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    state = get_sandbox(request).state
    return {"offset_seconds": state.clock_offset, "now_ms": state.now_ms()}


def _member_urn(member: str) -> str:
    member = unquote(member)
    return member if member.startswith(PERSON_URN) else f"{PERSON_URN}{member}"


@router.post("/members/{member}/revoke")
async def revoke_member(request: Request, member: str) -> dict[str, Any]:
    state = get_sandbox(request).state
    urn = _member_urn(member)
    if urn not in state.members:
        raise HTTPException(404, f"Member {urn} not found. GET /_sandbox/state lists the members.")
    revoked = 0
    for token in state.tokens.values():
        if token.member == urn and not token.revoked:
            token.revoked = True
            revoked += 1
    return {"member": urn, "revoked_tokens": revoked}


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    config = get_sandbox(request).config.model_dump()
    config["active_versions"] = sorted(config["active_versions"])
    config["app_scopes"] = sorted(config["app_scopes"])
    return config


@router.post("/config")
async def update_config(request: Request) -> dict[str, Any]:
    """Change settings at run time. The body contains only the fields to change."""
    changes = await request.json()
    if not isinstance(changes, dict):
        raise HTTPException(422, "Invalid body: expected a JSON object of settings")
    sandbox = get_sandbox(request)
    try:
        sandbox.update_config(changes)
    except ValidationError as error:
        raise HTTPException(422, error.errors(include_url=False, include_context=False)) from error
    return await get_config(request)


@router.get("/state")
async def get_state(request: Request) -> dict[str, Any]:
    return get_sandbox(request).state.summary()


class TokenRequest(BaseModel):
    member: str = "sandbox-member-1"
    scopes: list[str] = Field(default_factory=lambda: ["r_ads", "rw_ads", "r_ads_reporting"])
    # Access-token lifetime in seconds, or the configured 60 days when omitted.
    expires_in: int | None = Field(default=None, gt=0)


@router.post("/tokens")
async def mint_token(request: Request, body: TokenRequest) -> dict[str, Any]:
    """Issue tokens for a member without the browser flow, as `POST /accessToken` returns them."""
    sandbox = get_sandbox(request)
    urn = _member_urn(body.member)
    if urn not in sandbox.state.members:
        raise HTTPException(404, f"Member {urn} not found. GET /_sandbox/state lists the members.")
    unknown = set(body.scopes) - sandbox.config.app_scopes
    if unknown:
        raise HTTPException(422, f"Scopes not granted to the app: {sorted(unknown)}")
    return issue_grant(sandbox, urn, tuple(body.scopes), body.expires_in)


def _find_entity(request: Request, urn: str) -> AdEntity:
    state = get_sandbox(request).state
    urn = unquote(urn)
    stores: list[tuple[str, dict[int, AdEntity]]] = [
        (ACCOUNT_URN, state.accounts),
        (GROUP_URN, state.groups),
        (CAMPAIGN_URN, state.campaigns),
        (CREATIVE_URN, state.creatives),
    ]
    for prefix, store in stores:
        if urn.startswith(prefix) and urn[len(prefix) :].isdigit():
            entity = store.get(int(urn[len(prefix) :]))
            if entity is not None:
                return entity
    raise HTTPException(404, f"Entity {urn} not found")


class HoldChange(BaseModel):
    urn: str
    # Serving holds to show, such as CAMPAIGN_TOTAL_BUDGET_HOLD. They replace earlier admin holds.
    holds: list[str] = Field(default_factory=list)
    # Optional system status to set with the holds, such as COMPLETED for a spent campaign.
    status: str | None = None


@router.post("/holds")
async def set_holds(request: Request, change: HoldChange) -> dict[str, Any]:
    entity = _find_entity(request, change.urn)
    entity.holds = list(change.holds)
    if change.status is not None:
        key = "intendedStatus" if entity.kind == "creative" else "status"
        entity.fields = {**entity.fields, key: change.status}
        entity.touch("urn:li:system:sandbox", get_sandbox(request).state.now_ms())
    return {"urn": change.urn, "holds": entity.holds, "status": entity.status}


class ReviewChange(BaseModel):
    status: Literal["PENDING", "APPROVED", "REJECTED", "NEEDS_REVIEW"]
    rejectionReasons: list[str] = Field(default_factory=list)
    # Apply at once instead of when the review period on the sandbox clock ends.
    immediate: bool = True


@router.post("/creatives/{creative}/review")
async def set_review(request: Request, creative: str, change: ReviewChange) -> dict[str, Any]:
    """Force a creative's review outcome, e.g. REJECTED with reasons."""
    creative = unquote(creative)
    urn = creative if creative.startswith(CREATIVE_URN) else f"{CREATIVE_URN}{creative}"
    entity = _find_entity(request, urn)
    state = get_sandbox(request).state
    entity.review_override = {
        "status": change.status,
        "rejectionReasons": change.rejectionReasons,
        "immediate": change.immediate,
    }
    if entity.review_started_at is None:
        entity.review_started_at = state.now()
    return {"urn": urn, "review": entity.review_override}


@router.get("/requests/count")
async def count_requests(request: Request, path_prefix: str = Query("")) -> dict[str, int]:
    log = get_sandbox(request).request_log
    return {"count": sum(1 for entry in log if entry["path"].startswith(path_prefix))}
