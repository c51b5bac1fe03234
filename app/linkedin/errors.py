"""One table from LinkedIn's error responses to the service's typed errors (`map_error`)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.core.errors import (
    ApiVersionError,
    ConflictError,
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

# LinkedIn's tracing headers, most specific first. LinkedIn support requests them in reports.
REQUEST_ID_HEADERS = ("x-li-uuid", "x-li-request-id", "x-restli-request-id", "x-li-fabric")
# LinkedIn throttles analytics at 45 million metric values per 5-minute window.
ANALYTICS_VOLUME_WAIT = timedelta(minutes=5)
# Retry time of a short throttle when LinkedIn sends no Retry-After (it normally sends none).
SHORT_THROTTLE_WAIT_SECONDS = 1.0
# The message of a 429 for a daily quota ends "... DAY limit for calls to this resource is reached."
DAILY_QUOTA_MARKER = "day limit"
ANALYTICS_VOLUME_MARKERS = ("45 million", "metric values")
MAX_MESSAGE_LENGTH = 500


class ThrottleKind(enum.StrEnum):
    SHORT = "short"
    DAILY = "daily"
    ANALYTICS_VOLUME = "analytics_volume"


@dataclass
class LinkedInThrottledError(QuotaExceededError):
    """LinkedIn responded 429. Only a `SHORT` throttle is worth retrying within the request."""

    kind: ThrottleKind = ThrottleKind.SHORT
    # The Retry-After header's value in seconds, when LinkedIn sent one.
    retry_after_header: float | None = None


@dataclass
class LinkedInServerError(UpstreamUnavailableError):
    """LinkedIn responded 5xx. `sent` is True when a create may have been made anyway."""

    sent: bool = False
    retry_after_header: float | None = None


@dataclass
class LinkedInTransportError(UpstreamUnavailableError):
    """The request failed on the network. `sent` is False only when it never left this host."""

    sent: bool = True


def describe_transport_error(error: httpx.TransportError) -> str:
    """Describe a network failure for an error message.

    The text of transport errors can contain reprs of connection objects and of exceptions
    raised inside the request body, so only the error's class name goes into the message.
    """
    if isinstance(error, httpx.TimeoutException):
        summary = "timed out"
    elif isinstance(error, httpx.ConnectError):
        summary = "could not connect"
    else:
        summary = "the connection failed"
    return f"{summary} ({type(error).__name__})"


@dataclass
class LinkedInConflictError(ConflictError):
    """LinkedIn responded 409 (a concurrent write to the same entity)."""


def parse_body(content: bytes) -> Any:
    """Decode a LinkedIn response body: JSON, None when empty, else the text as a message."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"message": content[:MAX_MESSAGE_LENGTH].decode("utf-8", "replace")}


def request_id_of(headers: Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def retry_after_of(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Read `Retry-After` as seconds (a number or an HTTP date); None when absent or invalid."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def resource_of(path: str) -> str:
    """Name the top resource of a path: `/adAccounts/1/adCampaignGroups/4` -> `/adAccounts`."""
    first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    return "/" + first


def classify_throttle(message: str) -> ThrottleKind:
    lowered = message.lower()
    if DAILY_QUOTA_MARKER in lowered:
        return ThrottleKind.DAILY
    if any(marker in lowered for marker in ANALYTICS_VOLUME_MARKERS):
        return ThrottleKind.ANALYTICS_VOLUME
    return ThrottleKind.SHORT


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def input_errors(body: Mapping[str, Any]) -> list[FieldError]:
    """Collect field errors from LinkedIn's validation body or a Rest.li schema message."""
    details = body.get("errorDetails") or {}
    errors: list[FieldError] = []
    for key in ("inputErrors", "conditionalInputErrors"):
        for item in details.get(key) or []:
            if not isinstance(item, dict):
                continue
            input_path = (item.get("input") or {}).get("inputPath") or {}
            path = input_path.get("fieldPath") or ""
            code = item.get("code") or ""
            description = item.get("description") or "invalid value"
            message = f"{code}: {description}" if code else description
            errors.append(FieldError(field=path, message=message))
    message = str(body.get("message") or "")
    if not errors and message.startswith("ERROR :: "):
        # Rest.li schema errors: `ERROR :: /objectiveType :: "X" is not an enum symbol.`
        for line in message.splitlines():
            parts = line.split(" :: ")
            if len(parts) >= 3:
                errors.append(FieldError(field=parts[1].strip(), message=" :: ".join(parts[2:])))
    return errors


def _is_missing_upload_owner(operation: str, path: str, message: str) -> bool:
    lowered = message.lower()
    upload = operation == "register_upload" or "assets" in path or "registerupload" in lowered
    return upload and "owner" in lowered


def map_error(
    operation: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    now: datetime | None = None,
) -> ServiceError:
    """Turn one LinkedIn error response into the typed error the service raises.

    Every error keeps LinkedIn's status, `serviceErrorCode`, `code`, message and request id.
    `headers` must look names up case-insensitively (httpx and aiohttp headers both do).
    """
    now = now or datetime.now(UTC)
    payload: Mapping[str, Any] = body if isinstance(body, dict) else {}
    raw_message = payload.get("message") or payload.get("error_description")
    message = str(raw_message)[:MAX_MESSAGE_LENGTH] if raw_message else f"HTTP {status}"
    code = payload.get("code") or payload.get("error")
    service_error_code = payload.get("serviceErrorCode")
    upstream = UpstreamDetail(
        status=status,
        service_error_code=service_error_code if isinstance(service_error_code, int) else None,
        code=str(code) if code else None,
        request_id=request_id_of(headers),
        message=message,
    )
    common: dict[str, Any] = {"operation": operation, "upstream": upstream}
    retry_after = retry_after_of(headers, now)

    if status == 401:
        return ReconnectRequiredError(f"LinkedIn Ads {resource_of(path)} returned 401", **common)
    if status == 426 or upstream.code in ("NONEXISTENT_VERSION", "VERSION_MISSING"):
        return ApiVersionError(
            f"LinkedIn Ads {operation}: {status} — {message}. Set LINKEDIN_ADS_API_VERSION to "
            "a version LinkedIn still serves (YYYYMM, at most about a year old) and restart",
            **common,
        )
    if status == 429:
        return _throttled(operation, message, retry_after, now, common)
    if status == 403:
        return UpstreamPermissionError(
            f"LinkedIn Ads {operation}: 403 — {message}. The connected member needs a role on "
            "the ad account that allows this, and the app needs the scope",
            **common,
        )
    if status == 404:
        return NotFoundError(f"LinkedIn Ads {operation}: 404 — {message}", **common)
    if status == 405:
        return UpstreamError(
            f"LinkedIn Ads {operation}: 405 Method Not Allowed. LinkedIn updates with POST and "
            "a patch.$set envelope, not PATCH or PUT; this is a bug in the integration, please "
            "report it",
            **common,
        )
    if status == 409:
        return LinkedInConflictError(
            f"LinkedIn Ads {operation}: 409 — {message}",
            retry_after_seconds=retry_after,
            **common,
        )
    if status == 414:
        # The client tunnels long queries, so a 414 means a path segment is too long.
        return InvalidInputError(
            f"LinkedIn Ads {operation}: 414 — the request URL is too long", **common
        )
    if status in (400, 411, 415, 422):
        if _is_missing_upload_owner(operation, path, message):
            message += (
                ". The upload owner URN was not derivable from the supplied DTO. Pass the "
                "organisation URN (e.g. urn:li:organization:1234) in the DTO's asset_id field, "
                "or call the register_upload adapter operation directly with the full body"
            )
        elif upstream.code == "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS":
            message += ". Only DRAFT entities can be deleted; set status PENDING_DELETION instead"
        return UpstreamRejectedError(
            f"LinkedIn Ads {operation}: {status} — {message}",
            fields=input_errors(payload),
            **common,
        )
    if status >= 500:
        return LinkedInServerError(
            f"LinkedIn Ads {operation}: {status} — {message}",
            retry_after_seconds=retry_after,
            retry_after_header=retry_after,
            **common,
        )
    return UpstreamError(f"LinkedIn Ads {operation}: unexpected {status} — {message}", **common)


def _throttled(
    operation: str,
    message: str,
    retry_after: float | None,
    now: datetime,
    common: dict[str, Any],
) -> LinkedInThrottledError:
    kind = classify_throttle(message)
    if kind is ThrottleKind.DAILY:
        wait = (next_utc_midnight(now) - now).total_seconds()
        reason = "linkedin_daily_quota"
    elif kind is ThrottleKind.ANALYTICS_VOLUME:
        wait = max(retry_after or 0.0, ANALYTICS_VOLUME_WAIT.total_seconds())
        reason = "linkedin_analytics_volume"
    else:
        wait = retry_after if retry_after is not None else SHORT_THROTTLE_WAIT_SECONDS
        reason = "linkedin_throttled"
    return LinkedInThrottledError(
        f"LinkedIn Ads {operation}: 429 — {message}",
        retry_after_seconds=wait,
        reason=reason,
        kind=kind,
        retry_after_header=retry_after,
        **common,
    )
