"""LinkedIn's OAuth 2.0 endpoints: the authorization URL, code exchange, refresh and revocation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from app.core.errors import (
    ReconnectRequiredError,
    ServiceError,
    UpstreamDetail,
    UpstreamError,
    UpstreamUnavailableError,
)
from app.core.metrics import UPSTREAM_LATENCY, UPSTREAM_REQUESTS
from app.core.settings import Settings
from app.linkedin.client import Limiter
from app.linkedin.errors import parse_body, request_id_of

OAUTH_SCOPE = "oauth"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str | None
    refresh_token_expires_at: datetime | None
    scopes: list[str]


class OAuthGrantError(ReconnectRequiredError):
    """LinkedIn rejected the code or refresh token (`invalid_grant`, expired, revoked)."""


def parse_scopes(value: str | None) -> list[str]:
    """LinkedIn separates scopes with spaces in token responses and commas in introspection."""
    if not value:
        return []
    return [scope for scope in value.replace(",", " ").split() if scope]


def authorization_url(settings: Settings, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": settings.linkedin_ads_client_id,
        "redirect_uri": settings.linkedin_ads_redirect_uri,
        "state": state,
        "scope": " ".join(settings.linkedin_ads_scopes),
    }
    # LinkedIn documents the scope list as space-delimited and percent-encoded (%20, not +).
    query = urlencode(params, quote_via=quote)
    return f"{settings.linkedin_ads_oauth_base_url.rstrip('/')}/authorization?{query}"


class OAuthClient:
    def __init__(
        self, *, http: httpx.AsyncClient, settings: Settings, limiter: Limiter | None = None
    ) -> None:
        self.http = http
        self.settings = settings
        self.limiter = limiter
        self.base_url = settings.linkedin_ads_oauth_base_url.rstrip("/")

    async def exchange_code(self, code: str) -> TokenSet:
        return await self._token_request(
            "exchange_code",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.linkedin_ads_redirect_uri,
            },
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request(
            "refresh_token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def revoke(self, token: str) -> None:
        await self._post("revoke_token", "/revoke", {"token": token})

    async def _token_request(self, operation: str, form: dict[str, str]) -> TokenSet:
        now = datetime.now(UTC)
        body = await self._post(operation, "/accessToken", form)
        if not isinstance(body, dict) or "access_token" not in body:
            raise UpstreamError(
                f"LinkedIn's token endpoint returned no access token ({operation})",
                operation=operation,
            )
        refresh_token = body.get("refresh_token")
        refresh_expires_in = body.get("refresh_token_expires_in")
        return TokenSet(
            access_token=str(body["access_token"]),
            access_token_expires_at=now + timedelta(seconds=int(body.get("expires_in", 0))),
            refresh_token=str(refresh_token) if refresh_token else None,
            refresh_token_expires_at=(
                now + timedelta(seconds=int(refresh_expires_in)) if refresh_expires_in else None
            ),
            scopes=parse_scopes(body.get("scope")),
        )

    async def _post(self, operation: str, path: str, form: dict[str, str]) -> Any:
        if self.limiter is not None:
            await self.limiter.acquire(
                self.settings.linkedin_ads_client_id, OAUTH_SCOPE, operation=operation
            )
        form = {
            **form,
            "client_id": self.settings.linkedin_ads_client_id,
            "client_secret": self.settings.linkedin_ads_client_secret.get_secret_value(),
        }
        started = time.perf_counter()
        try:
            response = await self.http.post(
                self.base_url + path,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TransportError as error:
            UPSTREAM_REQUESTS.labels(operation, "error").inc()
            raise UpstreamUnavailableError(
                f"LinkedIn's OAuth server could not be reached ({type(error).__name__})",
                operation=operation,
            ) from error
        finally:
            UPSTREAM_LATENCY.labels(operation).observe(time.perf_counter() - started)
        UPSTREAM_REQUESTS.labels(operation, f"{response.status_code // 100}xx").inc()
        body = parse_body(response.content)
        if response.is_success:
            return body
        payload = body if isinstance(body, dict) else {}
        upstream = UpstreamDetail(
            status=response.status_code,
            code=payload.get("error") or payload.get("code"),
            request_id=request_id_of(response.headers),
            message=payload.get("error_description") or payload.get("message"),
        )
        description = upstream.message or response.reason_phrase
        failure: ServiceError
        if response.status_code >= 500:
            failure = UpstreamUnavailableError(
                f"LinkedIn's OAuth server failed ({response.status_code})",
                operation=operation,
                upstream=upstream,
            )
        elif response.status_code in (400, 401):
            failure = OAuthGrantError(
                f"LinkedIn rejected the {operation.replace('_', ' ')}: {description}",
                operation=operation,
                upstream=upstream,
            )
        else:
            failure = UpstreamError(
                f"LinkedIn's OAuth server returned HTTP {response.status_code}: {description}",
                operation=operation,
                upstream=upstream,
            )
        raise failure
