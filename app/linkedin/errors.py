"""One table from LinkedIn's answers to the service's typed errors."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.errors import (
    ApiVersionError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ReconnectRequiredError,
    ServiceError,
    UpstreamDetail,
    UpstreamError,
    UpstreamPermissionError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)

REQUEST_ID_HEADERS = ("x-li-uuid", "x-li-request-id", "x-restli-request-id", "x-li-fabric")
ANALYTICS_VOLUME_WAIT = timedelta(minutes=5)


class ThrottleKind(enum.StrEnum):
    SHORT = "short"
    DAILY = "daily"
    ANALYTICS_VOLUME = "analytics_volume"


class LinkedInThrottledError(QuotaExceededError):
    """LinkedIn answered 429; `kind` says whether waiting a moment can help."""

    kind: ThrottleKind = ThrottleKind.SHORT


class LinkedInServerError(UpstreamUnavailableError):
    """LinkedIn answered 5xx."""


class LinkedInTransportError(UpstreamUnavailableError):
    """The request failed on the network; `sent` says whether it may have reached LinkedIn."""

    sent: bool = True


def parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"message": response.text[:500]}


def request_id_of(headers: httpx.Headers) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return None


def resource_of(path: str) -> str:
    """`/adAccounts/123/adCampaignGroups/4` -> `/adAccounts`, as the 401 message names it."""
    first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    return "/" + first


def classify_throttle(body: Any) -> ThrottleKind:
    message = str(body.get("message", "")) if isinstance(body, dict) else str(body)
    lowered = message.lower()
    if "day limit" in lowered or "daily" in lowered:
        return ThrottleKind.DAILY
    if "metric values" in lowered or "45 million" in lowered:
        return ThrottleKind.ANALYTICS_VOLUME
    return ThrottleKind.SHORT


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _input_errors(body: dict[str, Any]) -> list[FieldError]:
    details = body.get("errorDetails") or {}
    errors: list[FieldError] = []
    for key in ("inputErrors", "conditionalInputErrors"):
        for item in details.get(key) or []:
            path = (((item.get("input") or {}).get("inputPath") or {}).get("fieldPath")) or ""
            message = item.get("description") or item.get("code") or "invalid value"
            errors.append(FieldError(field=path, message=f"{item.get('code', '')}: {message}"))
    message = str(body.get("message", ""))
    if not errors and message.startswith("ERROR :: "):
        # Rest.li schema errors: "ERROR :: /objectiveType :: \"X\" is not an enum symbol."
        for line in message.splitlines():
            parts = line.split(" :: ")
            if len(parts) >= 3:
                errors.append(FieldError(field=parts[1].strip(), message=" :: ".join(parts[2:])))
    return errors


def map_error(
    operation: str, path: str, response: httpx.Response, body: Any | None = None
) -> ServiceError:
    """Turn a LinkedIn error response into the service error a caller can act on."""
    status = response.status_code
    body = parse_body(response) if body is None else body
    payload = body if isinstance(body, dict) else {}
    message = str(payload.get("message") or payload.get("error_description") or response.reason_phrase)
    upstream = UpstreamDetail(
        status=status,
        service_error_code=payload.get("serviceErrorCode"),
        code=payload.get("code") or payload.get("error"),
        request_id=request_id_of(response.headers),
        message=message,
    )
    common: dict[str, Any] = {"operation": operation, "upstream": upstream}

    if status == 401:
        return ReconnectRequiredError(f"LinkedIn Ads {resource_of(path)} returned 401", **common)
    if status == 426 or upstream.code == "NONEXISTENT_VERSION":
        return ApiVersionError(
            f"LinkedIn no longer serves this API version ({message}); set "
            "LINKEDIN_ADS_API_VERSION to an active version (YYYYMM) and restart",
            **common,
        )
    if status == 429:
        kind = classify_throttle(payload or body)
        if kind is ThrottleKind.DAILY:
            retry_after = (next_utc_midnight() - datetime.now(UTC)).total_seconds()
            reason = "linkedin_daily_quota"
        elif kind is ThrottleKind.ANALYTICS_VOLUME:
            retry_after = ANALYTICS_VOLUME_WAIT.total_seconds()
            reason = "linkedin_analytics_volume"
        else:
            retry_after = 1.0
            reason = "linkedin_throttled"
        error = LinkedInThrottledError(
            f"LinkedIn Ads {operation}: 429 — {message}",
            retry_after_seconds=retry_after, reason=reason, **common,
        )
        error.kind = kind
        return error
    if status == 403:
        return UpstreamPermissionError(
            f"LinkedIn refused {operation}: {message}. Check that the connected member has a "
            "role on the ad account that allows this, and the app has the scope",
            **common,
        )
    if status == 404:
        return NotFoundError(f"LinkedIn has no such entity ({operation}): {message}", **common)
    if status == 405:
        return UpstreamError(f"LinkedIn Ads {operation}: 405 Method Not Allowed", **common)
    if status == 414:
        return InvalidInputError(
            f"LinkedIn Ads {operation}: the request URL is too long (414)", **common
        )
    if status in (400, 409, 422):
        fields = _input_errors(payload)
        error_type = UpstreamRejectedError
        if "owner" in message.lower() and "empty" in message.lower():
            message += (
                ". The upload owner URN was not derivable from the request: pass the "
                "organization URN (e.g. urn:li:organization:1234) in asset_id, or call "
                "register_upload with the full body"
            )
        return error_type(f"LinkedIn rejected {operation}: {message}", fields=fields, **common)
    if status >= 500:
        return LinkedInServerError(f"LinkedIn Ads {operation}: {status} — {message}", **common)
    return UpstreamError(f"LinkedIn Ads {operation}: unexpected {status} — {message}", **common)
