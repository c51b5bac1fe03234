"""The LinkedIn Marketing API client: headers, Rest.li methods, retries and error mapping.

Every request the service sends to LinkedIn goes through `LinkedInClient.send`, which
- asks the rate limiter before each attempt (each attempt is an upstream call);
- sends `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0` and, on writes, `Idempotency-Key`;
- tunnels a GET whose query string is longer than 4,000 characters as a POST;
- retries connection errors, 5xx and short 429s with capped, fully jittered exponential backoff,
  and never retries a write whose outcome is unknown (the caller resolves it first).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from app.core.errors import ApiVersionError, ServiceError
from app.core.metrics import API_VERSION_INACTIVE, UPSTREAM_LATENCY, UPSTREAM_REQUESTS, UPSTREAM_RETRIES
from app.core.settings import Settings
from app.linkedin.errors import (
    LinkedInServerError,
    LinkedInThrottledError,
    LinkedInTransportError,
    ThrottleKind,
    map_error,
    next_utc_midnight,
    parse_body,
    request_id_of,
)
from app.linkedin.restli import decode_header_key, encode_key, encode_query

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = "2.0.0"
MAX_QUERY_LENGTH = 4000
MAX_RETRY_AFTER_SECONDS = 60.0


class Limiter(Protocol):
    async def acquire(
        self, client_id: str, scope: str, *, operation: str | None = None, cost: int = 1
    ) -> None: ...

    async def park(self, client_id: str, scope: str, until: Any, reason: str) -> None: ...


@dataclass
class LinkedInResponse:
    status: int
    headers: httpx.Headers
    body: Any

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.headers)


@dataclass
class ApiVersionHealth:
    """What the client learned about the configured `LinkedIn-Version` from LinkedIn."""

    inactive: bool = False
    message: str | None = None


def created_id(response: LinkedInResponse) -> str:
    """Return the new entity's key from a CREATE answer: x-restli-id, x-linkedin-id, Location."""
    for header in ("x-restli-id", "x-linkedin-id"):
        value = response.headers.get(header)
        if value:
            return decode_header_key(value)
    location = response.headers.get("location")
    if location:
        return decode_header_key(location.rstrip("/").rsplit("/", 1)[-1])
    if isinstance(response.body, dict):
        value = response.body.get("id") or (response.body.get("value") or {}).get("id")
        if value:
            return str(value)
    raise LinkedInServerError(
        "LinkedIn answered the create without the new id (no x-restli-id, x-linkedin-id or "
        "Location header)"
    )


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, LinkedInThrottledError):
        return error.kind is ThrottleKind.SHORT
    if isinstance(error, LinkedInTransportError):
        # A write that may have reached LinkedIn is not repeated blindly.
        return not error.sent
    return isinstance(error, LinkedInServerError)


class LinkedInClient:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: Settings,
        limiter: Limiter | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.limiter = limiter
        self.base_url = settings.linkedin_ads_api_base_url.rstrip("/")
        self.version_health = ApiVersionHealth()

    # ---- the one request path --------------------------------------------------------------

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        token: str,
        scope: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        restli_method: str | None = None,
        idempotency_key: str | None = None,
        write: bool = False,
    ) -> LinkedInResponse:
        """Send one logical request (with retries) and return the 2xx answer, or raise."""
        query = encode_query(params or {})

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.settings.linkedin_ads_max_retries + 1),
            wait=self._wait,
            before_sleep=self._log_retry(operation),
            reraise=True,
        ):
            with attempt:
                return await self._send_once(
                    operation, method, path, query, token=token, scope=scope, json=json,
                    restli_method=restli_method, idempotency_key=idempotency_key, write=write,
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after_header", None)
        if retry_after is not None:
            return float(min(retry_after, MAX_RETRY_AFTER_SECONDS))
        backoff = wait_random_exponential(
            multiplier=0.5, max=self.settings.linkedin_ads_retry_max_wait_seconds
        )
        return float(backoff(state))

    def _log_retry(self, operation: str) -> Callable[[RetryCallState], None]:
        def log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            reason = type(error).__name__ if error else "unknown"
            UPSTREAM_RETRIES.labels(operation, reason).inc()
            logger.warning(
                "linkedin.retry",
                extra={
                    "operation": operation,
                    "attempt": state.attempt_number,
                    "reason": reason,
                    "error": str(error),
                    "sleep_seconds": round(state.next_action.sleep, 3) if state.next_action else None,
                },
            )

        return log

    def _headers(
        self, token: str, restli_method: str | None, idempotency_key: str | None
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self.settings.linkedin_ads_api_version,
            "X-Restli-Protocol-Version": PROTOCOL_VERSION,
        }
        if restli_method:
            headers["X-RestLi-Method"] = restli_method
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _send_once(
        self,
        operation: str,
        method: str,
        path: str,
        query: str,
        *,
        token: str,
        scope: str,
        json: Any,
        restli_method: str | None,
        idempotency_key: str | None,
        write: bool,
    ) -> LinkedInResponse:
        if self.limiter is not None:
            await self.limiter.acquire(self.settings.linkedin_ads_client_id, scope, operation=operation)

        headers = self._headers(token, restli_method, idempotency_key)
        url = self.base_url + path
        content: bytes | None = None
        if method == "GET" and len(query) > MAX_QUERY_LENGTH:
            # Query tunnelling: LinkedIn answers 414 to query strings over about 4 KB.
            method = "POST"
            headers["X-HTTP-Method-Override"] = "GET"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = query.encode()
        elif query:
            url = f"{url}?{query}"
        if json is not None:
            import json as json_module

            headers["Content-Type"] = "application/json"
            content = json_module.dumps(json, separators=(",", ":")).encode()
        elif method == "POST" and content is None:
            content = b""

        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, headers=headers, content=content)
        except httpx.TransportError as error:
            UPSTREAM_REQUESTS.labels(operation, "error").inc()
            # Only a failure to connect proves the request never left; anything later may have
            # been processed by LinkedIn.
            sent = not isinstance(error, httpx.ConnectError)
            failure = LinkedInTransportError(
                f"LinkedIn Ads {operation}: request failed ({type(error).__name__}: {error})",
                operation=operation,
            )
            failure.sent = sent if write else False
            raise failure from error
        finally:
            UPSTREAM_LATENCY.labels(operation).observe(time.perf_counter() - started)

        UPSTREAM_REQUESTS.labels(operation, f"{response.status_code // 100}xx").inc()
        body = parse_body(response)
        if response.is_success:
            if self.version_health.inactive:
                self.version_health = ApiVersionHealth()
                API_VERSION_INACTIVE.set(0)
            return LinkedInResponse(response.status_code, response.headers, body)

        error = map_error(operation, path, response, body)
        retry_after = response.headers.get("retry-after")
        if retry_after and retry_after.isdigit():
            error.retry_after_header = float(retry_after)  # type: ignore[attr-defined]
            error.retry_after_seconds = min(float(retry_after), MAX_RETRY_AFTER_SECONDS)
        if isinstance(error, ApiVersionError):
            self.version_health = ApiVersionHealth(inactive=True, message=error.message)
            API_VERSION_INACTIVE.set(1)
        if isinstance(error, LinkedInThrottledError) and error.kind is ThrottleKind.DAILY:
            if self.limiter is not None:
                await self.limiter.park(
                    self.settings.linkedin_ads_client_id, scope, next_utc_midnight(),
                    "linkedin_daily_quota",
                )
        logger.info(
            "linkedin.error",
            extra={
                "operation": operation,
                "status": response.status_code,
                "code": error.upstream.code if error.upstream else None,
                "linkedin_request_id": error.upstream.request_id if error.upstream else None,
            },
        )
        raise error

    # ---- Rest.li methods -------------------------------------------------------------------

    async def get(
        self, operation: str, path: str, *, token: str, scope: str,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = await self.send(operation, "GET", path, token=token, scope=scope, params=params)
        return response.body

    async def find_all(
        self,
        operation: str,
        path: str,
        *,
        token: str,
        scope: str,
        params: Mapping[str, Any],
        page_size: int = 100,
        finder_header: bool = False,
        max_pages: int = 1000,
    ) -> list[dict[str, Any]]:
        """Run a cursor-paged finder to the last page and return every element."""
        elements: list[dict[str, Any]] = []
        async for page in self.iterate_pages(
            operation, path, token=token, scope=scope, params=params, page_size=page_size,
            finder_header=finder_header, max_pages=max_pages,
        ):
            elements.extend(page)
        return elements

    async def iterate_pages(
        self,
        operation: str,
        path: str,
        *,
        token: str,
        scope: str,
        params: Mapping[str, Any],
        page_size: int = 100,
        finder_header: bool = False,
        max_pages: int = 1000,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        page_token: str | None = None
        for _ in range(max_pages):
            query = {**params, "pageSize": page_size, "pageToken": page_token}
            response = await self.send(
                operation, "GET", path, token=token, scope=scope, params=query,
                restli_method="FINDER" if finder_header else None,
            )
            body = response.body or {}
            yield list(body.get("elements") or [])
            page_token = (body.get("metadata") or {}).get("nextPageToken")
            if not page_token:
                return
        raise LinkedInServerError(f"LinkedIn Ads {operation}: more than {max_pages} pages")

    async def batch_get(
        self, operation: str, path: str, ids: list[str | int], *, token: str, scope: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (results, errors), both keyed by the string form of each id."""
        response = await self.send(
            operation, "GET", path, token=token, scope=scope, params={"ids": ids},
            restli_method="BATCH_GET",
        )
        body = response.body or {}
        return dict(body.get("results") or {}), dict(body.get("errors") or {})

    async def create(
        self,
        operation: str,
        path: str,
        body: Mapping[str, Any],
        *,
        token: str,
        scope: str,
        idempotency_key: str,
        find_existing: Callable[[], Awaitable[str | None]] | None = None,
    ) -> str:
        """Create an entity and return its key.

        When the outcome is unknown (the connection failed after the request was sent),
        `find_existing` is asked whether LinkedIn made it; only if not is the create sent again.
        """
        attempts = self.settings.linkedin_ads_max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self.send(
                    operation, "POST", path, token=token, scope=scope, json=dict(body),
                    idempotency_key=idempotency_key, write=True,
                )
                return created_id(response)
            except LinkedInTransportError as error:
                if not error.sent:
                    raise
                if find_existing is None or attempt == attempts:
                    raise
                logger.warning(
                    "linkedin.create_outcome_unknown",
                    extra={"operation": operation, "attempt": attempt, "error": str(error)},
                )
                existing = await find_existing()
                if existing is not None:
                    logger.info(
                        "linkedin.create_found_after_unknown_outcome",
                        extra={"operation": operation, "entity": existing},
                    )
                    return existing
                UPSTREAM_RETRIES.labels(operation, "outcome_unknown_not_created").inc()
        raise AssertionError("unreachable")

    async def partial_update(
        self,
        operation: str,
        path: str,
        changes: Mapping[str, Any],
        *,
        token: str,
        scope: str,
        idempotency_key: str,
    ) -> None:
        # `$set` of the same values is idempotent, so an update can be retried after a drop.
        await self.send(
            operation, "POST", path, token=token, scope=scope,
            json={"patch": {"$set": dict(changes)}}, restli_method="PARTIAL_UPDATE",
            idempotency_key=idempotency_key, write=False,
        )

    async def action(
        self,
        operation: str,
        path: str,
        action: str,
        body: Mapping[str, Any],
        *,
        token: str,
        scope: str,
        idempotency_key: str | None = None,
    ) -> Any:
        response = await self.send(
            operation, "POST", path, token=token, scope=scope, params={"action": action},
            json=dict(body), restli_method="ACTION",
            idempotency_key=idempotency_key or uuid.uuid4().hex, write=True,
        )
        body_value = response.body or {}
        return body_value.get("value", body_value) if isinstance(body_value, dict) else body_value

    async def delete(
        self, operation: str, path: str, *, token: str, scope: str, idempotency_key: str
    ) -> None:
        await self.send(
            operation, "DELETE", path, token=token, scope=scope, restli_method="DELETE",
            idempotency_key=idempotency_key,
        )


def account_path(account_id: int, *parts: str | int) -> str:
    """`/adAccounts/{id}/...` with each further key encoded for the path."""
    segments = [f"/adAccounts/{int(account_id)}"]
    for part in parts:
        segments.append("/" + (encode_key(part) if not isinstance(part, str) or ":" in part else part))
    return "".join(segments)


__all__ = [
    "LinkedInClient",
    "LinkedInResponse",
    "ServiceError",
    "account_path",
    "created_id",
]
