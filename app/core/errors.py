"""The service's error types and the single JSON shape every error response takes.

{"error": {"code": "quota_exceeded", "message": "...", "operation": "create_campaign_group",
           "retryable": true, "retryAfterSeconds": 12, "reason": "rate_limited",
           "fields": [{"field": "dailyBudget", "message": "..."}],
           "upstream": {"status": 429, "serviceErrorCode": 101, "code": null,
                        "requestId": "..."}},
 "requestId": "..."}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic.alias_generators import to_camel

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def wire_name(field: str) -> str:
    """Spell a DTO field path as requests do: `targeting.include_x` becomes `targeting.includeX`."""
    return ".".join(
        to_camel(part) if _SNAKE_CASE.match(part) else part for part in field.split(".")
    )


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class UpstreamDetail:
    status: int | None = None
    service_error_code: int | None = None
    code: str | None = None
    request_id: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "serviceErrorCode": self.service_error_code,
            "code": self.code,
            "requestId": self.request_id,
            "message": self.message,
        }


@dataclass
class ServiceError(Exception):
    """Base of every error response of the API; subclasses fix the HTTP status and code."""

    message: str
    operation: str | None = None
    fields: list[FieldError] = field(default_factory=list)
    upstream: UpstreamDetail | None = None
    retry_after_seconds: float | None = None
    reason: str | None = None

    status_code = 500
    code = "internal_error"
    retryable = False

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "operation": self.operation,
            "retryable": self.retryable,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        if self.retry_after_seconds is not None:
            body["retryAfterSeconds"] = round(self.retry_after_seconds, 3)
            retry_at = datetime.now(UTC).timestamp() + self.retry_after_seconds
            body["retryAt"] = datetime.fromtimestamp(retry_at, UTC).isoformat()
        if self.fields:
            body["fields"] = [
                {"field": wire_name(item.field), "message": item.message} for item in self.fields
            ]
        if self.upstream is not None:
            body["upstream"] = self.upstream.to_json()
        return body


class InvalidInputError(ServiceError):
    status_code = 422
    code = "invalid_input"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


class AuthenticationError(ServiceError):
    status_code = 401
    code = "unauthenticated"


class ConflictError(ServiceError):
    status_code = 409
    code = "conflict"
    retryable = True


class IdempotencyMismatchError(ServiceError):
    status_code = 422
    code = "idempotency_key_reused"


class QuotaExceededError(ServiceError):
    """Raised before LinkedIn is called (our limiter) or after it returned 429 (its quota)."""

    status_code = 429
    code = "quota_exceeded"
    retryable = True


class ReconnectRequiredError(ServiceError):
    """LinkedIn no longer accepts the connection's tokens; the user must connect again."""

    status_code = 401
    code = "reconnect_required"


class UpstreamError(ServiceError):
    """LinkedIn returned an error the caller cannot fix by changing its input."""

    status_code = 502
    code = "upstream_error"


class UpstreamRejectedError(ServiceError):
    """LinkedIn rejected the request's content (400/422 with input errors)."""

    status_code = 422
    code = "upstream_rejected"


class UpstreamPermissionError(ServiceError):
    status_code = 403
    code = "upstream_forbidden"


class UpstreamUnavailableError(ServiceError):
    """LinkedIn could not be reached or kept failing after the retries."""

    status_code = 503
    code = "upstream_unavailable"
    retryable = True


class ApiVersionError(ServiceError):
    """LinkedIn no longer serves the configured `LinkedIn-Version`."""

    status_code = 502
    code = "api_version_not_active"


class DependencyUnavailableError(ServiceError):
    """PostgreSQL or Redis failed."""

    status_code = 503
    code = "dependency_unavailable"
    retryable = True


class ErrorBody(BaseModel):
    """The error envelope, for the OpenAPI document."""

    error: dict[str, Any] = Field(description="code, message, operation, retryable and details")
    requestId: str | None = None


def error_responses(*errors: type[ServiceError]) -> dict[int | str, dict[str, Any]]:
    """Build a route's `responses=` entry listing the errors it can answer with."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = responses.setdefault(error.status_code, {"model": ErrorBody, "description": ""})
        codes = [part for part in entry["description"].split(", ") if part]
        codes.append(f"`{error.code}`")
        entry["description"] = ", ".join(codes)
    return responses
