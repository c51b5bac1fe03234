"""Fault rules injected through `POST /_sandbox/faults`: latency, 5xx, 429, dropped connections,
token revocation and sunset versions, each limited to matching requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from app.sandbox.errors import ApiError, coded_error, restli_error

THROTTLE_SHORT_MESSAGE = "Resource level throttle limit for calls to this resource is reached."
# NOTE: the DAY and analytics texts follow reported LinkedIn responses and are not documented.
THROTTLE_DAY_MESSAGE = (
    "Resource level throttle {scope} DAY limit for calls to this resource is reached."
)
THROTTLE_ANALYTICS_MESSAGE = (
    "Analytics data throttle limit reached: requests may return at most 45 million metric values "
    "(fields x rows) per 5 minutes."
)

_SERVER_ERRORS = {
    500: ("INTERNAL_SERVER_ERROR", "Internal Server Error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("UNDER_MAINTENANCE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
}


def throttle_error(kind: str, scope: str = "APPLICATION") -> ApiError:
    """Build LinkedIn's 429, which carries no Retry-After header."""
    if kind == "daily":
        message = THROTTLE_DAY_MESSAGE.format(scope=scope.upper())
    elif kind == "analytics_volume":
        message = THROTTLE_ANALYTICS_MESSAGE
    else:
        message = THROTTLE_SHORT_MESSAGE
    return restli_error(429, message, service_error_code=101)


def server_error(status: int) -> ApiError:
    code, message = _SERVER_ERRORS.get(status, ("INTERNAL_SERVER_ERROR", "Internal Server Error"))
    return coded_error(status, code, message)


class FaultMatch(BaseModel):
    # HTTP method, or the X-HTTP-Method-Override of a tunnelled request. None matches any.
    method: str | None = None
    # Searched (re.search) in the request path as sent, percent-encoding included.
    path_regex: str = ".*"
    # Number of matching requests the rule fires on. None means every one.
    times: int | None = Field(default=None, ge=0)
    # Number of matching requests to let through before the rule starts firing.
    after: int = Field(default=0, ge=0)

    @field_validator("path_regex")
    @classmethod
    def _compile_check(cls, value: str) -> str:
        re.compile(value)
        return value


class Throttle(BaseModel):
    kind: Literal["short", "daily", "analytics_volume"] = "short"
    # Which daily counter the DAY message names.
    scope: Literal["application", "member"] = "application"


class Drop(BaseModel):
    when: Literal["before_commit", "after_commit"] = "after_commit"
    # truncate: start the response, then close before its body arrives.
    # hang: send nothing for `hang_seconds` (the client's read timeout fires first), then close.
    mode: Literal["truncate", "hang"] = "truncate"
    hang_seconds: float = Field(default=60.0, gt=0, le=600)


class FaultRule(BaseModel):
    """One match and exactly one action (latency may be combined with another rule's action)."""

    match: FaultMatch = Field(default_factory=FaultMatch)
    latency_ms: int | None = Field(default=None, ge=0, le=120_000)
    status: int | None = Field(default=None, ge=500, le=599)
    # Replaces the LinkedIn-shaped body of a `status` fault.
    body: dict[str, Any] | None = None
    # Extra response headers of a `status` or `throttle` fault, e.g. a test-only Retry-After
    # (LinkedIn itself sends none).
    headers: dict[str, str] = Field(default_factory=dict)
    throttle: Throttle | None = None
    drop: Drop | None = None
    revoke_token: bool = False
    sunset_version: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> FaultRule:
        actions = [
            self.latency_ms is not None,
            self.status is not None,
            self.throttle is not None,
            self.drop is not None,
            self.revoke_token,
            self.sunset_version,
        ]
        if sum(actions) != 1:
            raise ValueError(
                "a fault rule needs exactly one action: latency_ms, status, throttle, drop, "
                "revoke_token or sunset_version"
            )
        return self


@dataclass
class _ActiveRule:
    rule: FaultRule
    pattern: re.Pattern[str]
    seen: int = 0
    fired: int = 0

    def fires_on(self, method: str, override: str | None, path: str) -> bool:
        wanted = self.rule.match.method
        if wanted is not None and wanted.upper() not in {method, (override or "").upper()}:
            return False
        if not self.pattern.search(path):
            return False
        self.seen += 1
        if self.seen <= self.rule.match.after:
            return False
        times = self.rule.match.times
        if times is not None and self.fired >= times:
            return False
        self.fired += 1
        return True


@dataclass
class FaultDecision:
    """The faults that fire on one request: total added latency and at most one other action."""

    latency_ms: int = 0
    action: FaultRule | None = None


@dataclass
class FaultSet:
    rules: list[_ActiveRule] = field(default_factory=list)

    def add(self, rules: list[FaultRule]) -> None:
        for rule in rules:
            self.rules.append(_ActiveRule(rule, re.compile(rule.match.path_regex)))

    def clear(self) -> None:
        self.rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                **active.rule.model_dump(exclude_none=True),
                "seen": active.seen,
                "fired": active.fired,
            }
            for active in self.rules
        ]

    def decide(self, method: str, override: str | None, path: str) -> FaultDecision:
        """Count this request against every rule and return what fires, in rule order."""
        decision = FaultDecision()
        for active in self.rules:
            if not active.fires_on(method, override, path):
                continue
            if active.rule.latency_ms is not None:
                decision.latency_ms += active.rule.latency_ms
            elif decision.action is None:
                decision.action = active.rule
        return decision
