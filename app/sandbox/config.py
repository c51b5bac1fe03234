"""Settings of the LinkedIn sandbox: the registered OAuth app, active API versions and timings."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator


def _default_versions() -> set[str]:
    versions = {"202402"}
    for year in (2025, 2026):
        versions.update(f"{year}{month:02d}" for month in range(1, 13))
    return versions


DEFAULT_APP_SCOPES = frozenset(
    {
        "r_ads",
        "rw_ads",
        "r_ads_reporting",
        "r_organization_social",
        "w_organization_social",
        "w_member_social",
        "r_basicprofile",
        "openid",
        "profile",
        "email",
    }
)

_VERSION_PATTERN = re.compile(r"^\d{6}$")


class SandboxConfig(BaseModel):
    """Runtime settings, which `POST /_sandbox/config` changes without a restart."""

    active_versions: set[str] = Field(default_factory=_default_versions)
    client_id: str = "sandbox-client-id"
    # The sandbox's published test secret, not a credential of any real system.
    client_secret: str = "sandbox-client-secret"  # noqa: S105
    app_name: str = "Sandbox Ads Integration"
    # Scopes the registered app may request. Any other scope gets `unauthorized_scope_error`.
    app_scopes: set[str] = Field(default_factory=lambda: set(DEFAULT_APP_SCOPES))
    # Exact redirect URIs registered for the app (compared without their query string).
    redirect_uris: list[str] = Field(default_factory=list)
    # Also accept any http://127.0.0.1:<port>/... or http://localhost:<port>/... redirect URI.
    allow_loopback_redirects: bool = True
    seed: int = 42
    access_token_lifetime_seconds: int = 5_184_000
    refresh_token_lifetime_seconds: int = 31_536_000
    authorization_code_lifetime_seconds: int = 1_800
    # When False the app behaves like one not approved for programmatic refresh tokens.
    programmatic_refresh: bool = True
    # Base URL put into upload URLs. None derives it from each request's own base URL.
    public_base_url: str | None = None
    # Sandbox-clock seconds an uploaded file stays PROCESSING before it becomes AVAILABLE.
    media_processing_seconds: float = 3.0
    # Sandbox-clock seconds a creative stays in review (PENDING) before the outcome is decided.
    creative_review_seconds: float = 30.0
    # Allowed lag of runSchedule.start behind the sandbox clock before DATE_TOO_EARLY.
    schedule_grace_seconds: int = 300
    # Daily call quotas per endpoint, reset at midnight UTC on the sandbox clock. None = unlimited.
    daily_application_quota: int | None = None
    daily_member_quota: int | None = None
    # Maximum number of entries kept for GET /_sandbox/requests. The oldest are dropped first.
    request_log_limit: int = 10_000

    @field_validator("active_versions", mode="before")
    @classmethod
    def _normalise_versions(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | set | tuple | frozenset):
            return value
        versions = set()
        for item in value:
            text = str(item)
            if len(text) == 8 and text.isdigit():
                text = text[:6]
            if not _VERSION_PATTERN.match(text):
                raise ValueError(f"invalid version {item!r}: expected YYYYMM or YYYYMMDD")
            versions.add(text)
        return versions

    def is_redirect_uri_allowed(self, uri: str) -> bool:
        """Check a redirect URI against the registered list and the loopback rule."""
        if "#" in uri:
            return False
        parts = urlsplit(uri)
        if not parts.scheme or not parts.netloc:
            return False
        without_query = parts._replace(query="").geturl()
        for registered in self.redirect_uris:
            if urlsplit(registered)._replace(query="").geturl() == without_query:
                return True
        if not self.allow_loopback_redirects:
            return False
        return (
            parts.scheme == "http"
            and parts.hostname in {"127.0.0.1", "localhost"}
            and parts.port is not None
        )
