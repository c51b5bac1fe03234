"""Service settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Values that ship in examples and compose files. They are fine on a laptop and refused elsewhere.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "sandbox-client-secret", "dev-api-key"})
DEVELOPMENT_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"development-only-key-0123456789a").decode()


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class RateLimitTier(enum.StrEnum):
    """LinkedIn's access tiers; `app.ratelimit.policy` defines the windows of each."""

    DEVELOPMENT = "development"
    STANDARD = "standard"


class RateLimitWindowSetting(BaseModel):
    """One sliding window: at most `limit` calls in any `seconds`-long span."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1, le=10_000_000)
    seconds: float = Field(ge=0.001, le=31 * 24 * 3600)


RATE_LIMIT_WINDOW_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
RATE_LIMIT_MAX_WINDOWS = 8
RATE_LIMIT_SCOPE = re.compile(r"^([0-9]{1,20}|oauth|member)$")

RateLimitWindows = dict[str, RateLimitWindowSetting]


class Settings(BaseSettings):
    """Every setting of the service; field names are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    linkedin_ads_environment: Environment = Environment.DEVELOPMENT

    linkedin_ads_client_id: str = "sandbox-client-id"
    linkedin_ads_client_secret: SecretStr = SecretStr("sandbox-client-secret")
    linkedin_ads_live_mode: bool = False
    linkedin_ads_api_version: str = "202402"
    linkedin_ads_api_base_url: str = "http://127.0.0.1:8001/rest"
    linkedin_ads_oauth_base_url: str = "http://127.0.0.1:8001/oauth/v2"
    linkedin_ads_redirect_uri: str = "http://127.0.0.1:8000/v1/connections/oauth/callback"
    linkedin_ads_scopes: Annotated[list[str], NoDecode] = ["r_ads", "r_ads_reporting", "rw_ads"]

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/linkedin_ads"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Fernet keys, comma-separated. The first encrypts new tokens; every key decrypts.
    linkedin_ads_token_encryption_keys: Annotated[list[SecretStr], NoDecode] = [
        SecretStr(DEVELOPMENT_ENCRYPTION_KEY)
    ]
    # Comma-separated `workspace_id=api_key` pairs; a caller sends the key as a Bearer token.
    linkedin_ads_service_api_keys: Annotated[dict[str, SecretStr], NoDecode] = {
        "demo-workspace": SecretStr("dev-api-key")
    }
    # Comma-separated URL prefixes that the OAuth callback may redirect a browser back to.
    linkedin_ads_allowed_return_urls: Annotated[list[str], NoDecode] = [
        "http://127.0.0.1:8000/",
        "http://localhost:3000/",
    ]

    # Largest JSON request body the API reads, in bytes; uploads have their own limits.
    linkedin_ads_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    linkedin_ads_http_timeout_seconds: float = Field(default=30.0, gt=0)
    linkedin_ads_http_max_connections: int = Field(default=200, ge=1)
    linkedin_ads_max_retries: int = Field(default=4, ge=0, le=10)
    linkedin_ads_retry_max_wait_seconds: float = Field(default=30.0, gt=0)

    linkedin_ads_oauth_state_ttl_seconds: int = Field(default=600, ge=30)
    linkedin_ads_token_refresh_margin_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    # Revoke the access token at LinkedIn's `/revoke` endpoint on disconnect.
    linkedin_ads_revoke_on_disconnect: bool = True
    # Seconds between runs of the job that refreshes due tokens and records expiry warnings.
    linkedin_ads_token_refresh_interval_seconds: int = Field(default=900, ge=10)
    # Days before a refresh token expires when the connection is reported as expiring.
    linkedin_ads_refresh_token_warning_days: int = Field(default=30, ge=1, le=365)
    # PostgreSQL connections kept apart for token refreshes, so that requests holding the main
    # pool can never starve the refresh they wait for.
    linkedin_ads_token_pool_size: int = Field(default=4, ge=1, le=100)

    # Media uploads: `register_upload` is LinkedIn's legacy Vector Assets flow that the product
    # document describes; `images_videos` uses the versioned Images and Videos APIs. Documents
    # always use the Documents API.
    linkedin_ads_upload_flow: Literal["register_upload", "images_videos"] = "register_upload"
    # Maximum wait, in seconds, for LinkedIn's response to one PUT of upload bytes.
    linkedin_ads_upload_timeout_seconds: float = Field(default=600.0, gt=0)
    # How long an upload waits for LinkedIn to finish processing the media, and the interval
    # between status reads, in seconds. The response shows the last status read.
    linkedin_ads_upload_poll_timeout_seconds: float = Field(default=30.0, ge=0)
    linkedin_ads_upload_poll_interval_seconds: float = Field(default=1.0, gt=0)

    linkedin_ads_scheduler_enabled: bool = True
    linkedin_ads_sync_interval_seconds: int = Field(default=3600, ge=10)
    # Days re-pulled by every sync, because LinkedIn restates recent days.
    linkedin_ads_sync_window_days: int = Field(default=30, ge=1, le=366)
    # Ad accounts one worker claims at a time. Accounts of one connection that are claimed
    # together share analytics calls, so larger batches need fewer calls.
    linkedin_ads_sync_claim_batch: int = Field(default=200, ge=1, le=5000)
    # Seconds a claim holds before another worker may take the account (a crashed worker's).
    linkedin_ads_sync_claim_lease_seconds: int = Field(default=900, ge=30)
    # Stored analytics younger than this are served without asking LinkedIn.
    linkedin_ads_analytics_max_age_seconds: int = Field(default=3600, ge=0)

    # Experiments: variants per experiment (each is one LinkedIn campaign), and the sample
    # every variant needs before the results call a winner.
    linkedin_ads_experiment_max_variants: int = Field(default=10, ge=2, le=100)
    linkedin_ads_experiment_min_impressions: int = Field(default=1000, ge=1)
    linkedin_ads_experiment_min_clicks: int = Field(default=100, ge=1)
    # Two-sided confidence of the results' intervals and tests, before the Bonferroni split
    # over the treatments.
    linkedin_ads_experiment_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    # Active ads (creatives) allowed in one ad set (LinkedIn campaign).
    # NOTE: 15 is unverified, because LinkedIn's API reference states no such limit.
    linkedin_ads_max_active_ads_per_ad_set: int = Field(default=15, ge=1)

    # The tier whose windows apply to every ad account unless overridden. `development` is
    # LinkedIn's tier for apps without partner review, so a fresh deployment stays inside it.
    linkedin_ads_rate_limit_tier: RateLimitTier = RateLimitTier.DEVELOPMENT
    # JSON that replaces the windows of the chosen tier, for example
    # {"second": {"limit": 2000, "seconds": 1}, "day": {"limit": 5000000, "seconds": 86400}}.
    linkedin_ads_rate_limit_windows: Annotated[RateLimitWindows | None, NoDecode] = None
    # JSON mapping a scope (an ad account id, "oauth" or "member") to a tier name or to windows
    # in the format above, for example {"508123456": "standard", "oauth": {"minute": {...}}}.
    linkedin_ads_rate_limit_account_overrides: Annotated[
        dict[str, RateLimitTier | RateLimitWindows], NoDecode
    ] = {}
    # How long one limiter check may wait for Redis before the call is rejected. The wait
    # includes the event loop's own delay, so a busy process needs headroom over Redis's
    # sub-millisecond reply: at 0.25 s, dozens of concurrent requests drew false refusals.
    linkedin_ads_rate_limit_timeout_seconds: float = Field(default=1.0, gt=0, le=5)

    @field_validator("linkedin_ads_api_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if len(value) not in (6, 8) or not value.isdigit():
            raise ValueError("must be YYYYMM (or YYYYMMDD), for example 202402")
        month = int(value[4:6])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} in {value!r} is not 01-12")
        return value

    @field_validator("linkedin_ads_scopes", "linkedin_ads_allowed_return_urls", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.replace(" ", ",").split(",") if item.strip()]
        return value

    @field_validator("linkedin_ads_token_encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            if not value:
                raise ValueError("at least one key is required")
            for index, key in enumerate(value):
                raw = key.get_secret_value() if isinstance(key, SecretStr) else str(key)
                try:
                    decoded = base64.urlsafe_b64decode(raw.encode())
                except (binascii.Error, ValueError):
                    decoded = b""
                if len(decoded) != 32:
                    raise ValueError(
                        f"key #{index + 1} is not a Fernet key (32 url-safe base64 bytes); "
                        "make one with `linkedin-ads keygen`"
                    )
        return value

    @field_validator("linkedin_ads_service_api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            workspace, separator, key = item.partition("=")
            if not separator or not workspace.strip() or not key.strip():
                raise ValueError(f"entry {item!r} is not workspace_id=api_key")
            pairs[workspace.strip()] = key.strip()
        if not pairs:
            raise ValueError("at least one workspace_id=api_key pair is required")
        return pairs

    @field_validator(
        "linkedin_ads_rate_limit_windows",
        "linkedin_ads_rate_limit_account_overrides",
        mode="before",
    )
    @classmethod
    def _parse_rate_limit_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not valid JSON ({error})") from None

    @field_validator("linkedin_ads_rate_limit_windows")
    @classmethod
    def _check_rate_limit_windows(cls, value: RateLimitWindows | None) -> RateLimitWindows | None:
        if value is not None:
            _check_window_names(value)
        return value

    @field_validator("linkedin_ads_rate_limit_account_overrides", mode="after")
    @classmethod
    def _check_rate_limit_overrides(
        cls, value: dict[str, RateLimitTier | RateLimitWindows] | None
    ) -> dict[str, RateLimitTier | RateLimitWindows]:
        if value is None:
            return {}
        for scope, override in value.items():
            if not RATE_LIMIT_SCOPE.match(scope):
                raise ValueError(f'scope {scope!r} is not an ad account id, "oauth" or "member"')
            if isinstance(override, dict):
                _check_window_names(override, scope)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _reject_placeholders_outside_development(self) -> Settings:
        if self.linkedin_ads_environment is not Environment.PRODUCTION:
            return self
        problems = []
        if self.linkedin_ads_client_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("LINKEDIN_ADS_CLIENT_SECRET is a placeholder")
        keys = [key.get_secret_value() for key in self.linkedin_ads_token_encryption_keys]
        if DEVELOPMENT_ENCRYPTION_KEY in keys:
            problems.append("LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS holds the development key")
        for workspace, key in self.linkedin_ads_service_api_keys.items():
            if key.get_secret_value() in PLACEHOLDER_SECRETS or len(key.get_secret_value()) < 16:
                problems.append(
                    f"LINKEDIN_ADS_SERVICE_API_KEYS: the key of {workspace!r} is a placeholder "
                    "or shorter than 16 characters"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def api_version_date(self) -> date:
        return date(
            int(self.linkedin_ads_api_version[:4]), int(self.linkedin_ads_api_version[4:6]), 1
        )


def _check_window_names(windows: RateLimitWindows, scope: str | None = None) -> None:
    where = f" for scope {scope!r}" if scope else ""
    if not windows:
        raise ValueError(f"at least one window is required{where}")
    if len(windows) > RATE_LIMIT_MAX_WINDOWS:
        raise ValueError(f"at most {RATE_LIMIT_MAX_WINDOWS} windows are allowed{where}")
    for name in windows:
        if not RATE_LIMIT_WINDOW_NAME.match(name):
            raise ValueError(
                f"window name {name!r}{where} must be 1-32 characters of a-z, 0-9 and _"
            )


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the environment variable."""


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            location = problem["loc"][0] if problem["loc"] else "settings"
            lines.append(f"{str(location).upper()}: {problem['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
