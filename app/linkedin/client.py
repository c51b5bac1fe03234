"""The LinkedIn Marketing API client: headers, Rest.li methods, retries and error mapping.

Every request the service sends to LinkedIn's `/rest` API goes through `LinkedInClient.send`:
- it checks the rate limiter before each attempt, because each attempt is an upstream call;
- it sends `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0`, `X-RestLi-Method` and, on
  writes, `Idempotency-Key` (LinkedIn ignores that header; the service deduplicates itself);
- it tunnels a request whose query string is longer than 4,000 characters as a POST;
- it retries connection errors, 5xx and short 429s with capped, fully jittered exponential
  backoff. A create or action is retried only when the request certainly never left this host,
  or LinkedIn throttled it; `create` resolves other failures by looking in LinkedIn first.
"""

from __future__ import annotations

import asyncio
import json as json_module
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from app.core.errors import ApiVersionError, ServiceError
from app.core.metrics import (
    API_VERSION_INACTIVE,
    UPSTREAM_LATENCY,
    UPSTREAM_REQUESTS,
    UPSTREAM_RETRIES,
)
from app.core.settings import Settings
from app.linkedin.errors import (
    LinkedInServerError,
    LinkedInThrottledError,
    LinkedInTransportError,
    ThrottleKind,
    describe_transport_error,
    map_error,
    next_utc_midnight,
    parse_body,
    request_id_of,
)
from app.linkedin.restli import decode_header_key, encode_key, encode_query
from app.linkedin.transport import LinkedInHttpClient, RawResponse, request_never_sent

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = "2.0.0"
# LinkedIn responds 414 to query strings over 4 KB, and its own client tunnels above 4,000.
MAX_QUERY_LENGTH = 4000
# Base of the exponential backoff: retry n waits up to 0.5 * 2**(n - 1) seconds, capped.
BACKOFF_MULTIPLIER_SECONDS = 0.5

Paging = Literal["cursor", "index"]


class Limiter(Protocol):
    async def acquire(
        self, client_id: str, scope: str, *, operation: str | None = None, cost: int = 1
    ) -> None: ...

    async def park(self, client_id: str, scope: str, until: Any, reason: str) -> None: ...


@dataclass
class LinkedInResponse:
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.headers)


@dataclass
class ApiVersionHealth:
    """State of the configured `LinkedIn-Version`, as LinkedIn's last response showed it."""

    inactive: bool = False
    message: str | None = None


@dataclass
class BatchResult:
    """A BATCH_GET or BATCH_PARTIAL_UPDATE response, keyed by the string form of each id.

    `errors` contains one typed error per failed id, mapped like a whole-request error.
    """

    results: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, ServiceError] = field(default_factory=dict)

    def get(self, key: str | int) -> Any:
        """Return one id's result, or raise that id's error (or a 404 when it is absent)."""
        name = str(key)
        if name in self.errors:
            raise self.errors[name]
        if name not in self.results:
            raise map_error("batch", "", 404, {}, {"message": f"no result for id {name}"})
        return self.results[name]

    def raise_first_error(self) -> None:
        for error in self.errors.values():
            raise error


def created_id(response: LinkedInResponse) -> str:
    """Return the new entity's key from a CREATE response: x-restli-id, x-linkedin-id, Location.

    LinkedIn may percent-encode a URN key in these headers, so it is decoded here.
    """
    for header in ("x-restli-id", "x-linkedin-id"):
        value = response.headers.get(header)
        if value:
            return decode_header_key(value.strip())
    location = response.headers.get("location")
    if location:
        last = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if last:
            return decode_header_key(last)
    if isinstance(response.body, dict):
        value = response.body.get("id") or (response.body.get("value") or {}).get("id")
        if value:
            return str(value)
    raise LinkedInServerError(
        "LinkedIn's create response has no new id (no x-restli-id, x-linkedin-id or Location "
        "header and no id in the body)"
    )


def _batch_result(operation: str, path: str, body: Any) -> BatchResult:
    payload = body if isinstance(body, dict) else {}
    statuses = {str(key): int(value) for key, value in (payload.get("statuses") or {}).items()}
    errors: dict[str, ServiceError] = {}
    for key, item in (payload.get("errors") or {}).items():
        item_body = item if isinstance(item, dict) else {}
        status = int(item_body.get("status") or statuses.get(str(key)) or 400)
        errors[str(key)] = map_error(f"{operation}[{key}]", path, status, {}, item_body)
    return BatchResult(dict(payload.get("results") or {}), statuses, errors)


def _tunnelled(
    method: str, query: str, body: bytes | None, headers: dict[str, str]
) -> tuple[str, bytes]:
    """Rewrite a request with a long query string as a POST that carries the query in its body."""
    headers["X-HTTP-Method-Override"] = method
    if body is None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return "POST", query.encode()
    boundary = uuid.uuid4().hex
    parts = (
        (
            f"--{boundary}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{query}\r\n"
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--".encode()
    )
    headers["Content-Type"] = f"multipart/mixed; boundary={boundary}"
    return "POST", parts


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
        self._max_wait = settings.linkedin_ads_retry_max_wait_seconds
        self._fetch: Callable[..., Awaitable[RawResponse]] = (
            http.fetch if isinstance(http, LinkedInHttpClient) else self._fetch_with_httpx
        )

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
        """Send one logical request, with retries, and return the 2xx response or raise.

        `write=True` marks a request that is not idempotent (a create or an action): it is
        retried only when it certainly never reached LinkedIn, or LinkedIn throttled it.
        """
        query = encode_query(params or {})
        body = None if json is None else json_module.dumps(json, separators=(",", ":")).encode()
        headers = self._headers(token, restli_method, idempotency_key)
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        if len(query) > MAX_QUERY_LENGTH:
            method, body = _tunnelled(method, query, body, headers)
        elif query:
            url = f"{url}?{query}"
        if method == "POST" and body is None:
            # LinkedIn responds 411 to a POST without Content-Length.
            body = b""

        async def attempt() -> LinkedInResponse:
            return await self._send_once(
                operation, method, url, path, headers, body, scope=scope, write=write
            )

        # The first attempt runs outside tenacity: its per-call set-up costs more CPU than the
        # rest of this method, and most requests succeed at once.
        try:
            return await attempt()
        except ServiceError as error:
            if not self.should_retry(error, write) or self.settings.linkedin_ads_max_retries < 1:
                raise
            first_failure = error
        return await self._retry(operation, attempt, first_failure, write)

    async def _retry(
        self,
        operation: str,
        attempt: Callable[[], Awaitable[LinkedInResponse]],
        first_failure: ServiceError,
        write: bool,
    ) -> LinkedInResponse:
        """Run attempts 2 to `linkedin_ads_max_retries + 1` after the first one failed."""
        delay = self.retry_delay(first_failure, 1)
        self._log_retry(operation, first_failure, 1, delay)
        await asyncio.sleep(delay)

        def wait(state: RetryCallState) -> float:
            return self.retry_delay(_outcome_error(state), state.attempt_number + 1)

        def before_sleep(state: RetryCallState) -> None:
            sleep = state.next_action.sleep if state.next_action else 0.0
            self._log_retry(operation, _outcome_error(state), state.attempt_number + 1, sleep)

        async for retrying in AsyncRetrying(
            retry=retry_if_exception(lambda error: self.should_retry(error, write)),
            stop=stop_after_attempt(self.settings.linkedin_ads_max_retries),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with retrying:
                return await attempt()
        raise AssertionError("unreachable: tenacity re-raises the last error")

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

    def should_retry(self, error: BaseException, write: bool) -> bool:
        """Decide whether a failed attempt is sent again; `write` marks a create or action."""
        if isinstance(error, LinkedInThrottledError):
            if error.kind is not ThrottleKind.SHORT:
                return False
            return error.retry_after_header is None or error.retry_after_header <= self._max_wait
        if isinstance(error, LinkedInServerError):
            if write:
                return False
            return error.retry_after_header is None or error.retry_after_header <= self._max_wait
        if isinstance(error, LinkedInTransportError):
            return not (write and error.sent)
        return False

    def retry_delay(self, error: BaseException | None, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based).

        LinkedIn's Retry-After is honoured when present, and `should_retry` makes no retry
        when it exceeds the cap. Otherwise the wait is exponential with full jitter, capped at
        `linkedin_ads_retry_max_wait_seconds`.
        """
        hint = getattr(error, "retry_after_header", None)
        if hint is not None:
            return float(min(hint, self._max_wait))
        ceiling = min(self._max_wait, BACKOFF_MULTIPLIER_SECONDS * 2 ** (retry_number - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def _log_retry(
        self, operation: str, error: BaseException | None, retry_number: int, sleep_seconds: float
    ) -> None:
        reason = retry_reason(error)
        UPSTREAM_RETRIES.labels(operation, reason).inc()
        upstream = getattr(error, "upstream", None)
        logger.warning(
            "linkedin.retry",
            extra={
                "operation": operation,
                "retry": retry_number,
                "reason": reason,
                "error": str(error),
                "linkedin_request_id": upstream.request_id if upstream else None,
                "sleep_seconds": round(sleep_seconds, 3),
            },
        )

    async def _fetch_with_httpx(
        self, method: str, url: str, *, headers: Mapping[str, str], content: bytes | None
    ) -> RawResponse:
        response = await self.http.request(method, url, headers=headers, content=content)
        return RawResponse(
            response.status_code, response.reason_phrase, response.headers, response.content
        )

    async def _send_once(
        self,
        operation: str,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        scope: str,
        write: bool,
    ) -> LinkedInResponse:
        if self.limiter is not None:
            await self.limiter.acquire(
                self.settings.linkedin_ads_client_id, scope, operation=operation
            )

        started = time.perf_counter()
        try:
            raw = await self._fetch(method, url, headers=headers, content=body)
        except httpx.TransportError as error:
            UPSTREAM_REQUESTS.labels(operation, "error").inc()
            raise LinkedInTransportError(
                f"LinkedIn Ads {operation}: request failed: {describe_transport_error(error)}",
                operation=operation,
                sent=not request_never_sent(error),
            ) from error
        finally:
            UPSTREAM_LATENCY.labels(operation).observe(time.perf_counter() - started)

        status = raw.status
        UPSTREAM_REQUESTS.labels(operation, f"{status // 100}xx").inc()
        parsed = parse_body(raw.content)
        if 200 <= status < 300:
            if self.version_health.inactive:
                self.version_health = ApiVersionHealth()
                API_VERSION_INACTIVE.set(0)
            return LinkedInResponse(status, raw.headers, parsed)

        failure = map_error(operation, path, status, raw.headers, parsed)
        await self._note_error(failure, scope)
        if isinstance(failure, LinkedInServerError) and write:
            # LinkedIn may have made the entity before failing, so the outcome is unknown.
            failure.sent = True
        raise failure

    async def _note_error(self, error: ServiceError, scope: str) -> None:
        """Record what an error shows about the version and the quota, and log it."""
        if isinstance(error, ApiVersionError):
            self.version_health = ApiVersionHealth(inactive=True, message=error.message)
            API_VERSION_INACTIVE.set(1)
        if isinstance(error, LinkedInThrottledError) and error.kind is ThrottleKind.DAILY:
            if self.limiter is not None:
                await self.limiter.park(
                    self.settings.linkedin_ads_client_id,
                    scope,
                    next_utc_midnight(),
                    "linkedin_daily_quota",
                )
        upstream = error.upstream
        logger.info(
            "linkedin.error",
            extra={
                "operation": error.operation,
                "status": upstream.status if upstream else None,
                "code": upstream.code if upstream else None,
                "service_error_code": upstream.service_error_code if upstream else None,
                "linkedin_request_id": upstream.request_id if upstream else None,
                "error": error.message,
            },
        )

    # ---- Rest.li methods -------------------------------------------------------------------

    async def get(
        self,
        operation: str,
        path: str,
        *,
        token: str,
        scope: str,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """GET one entity (or any resource read by key) and return its JSON."""
        response = await self.send(
            operation, "GET", path, token=token, scope=scope, params=params, restli_method="GET"
        )
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
        finder_header: bool = True,
        max_pages: int = 1000,
        paging: Paging = "cursor",
    ) -> list[dict[str, Any]]:
        """Run a finder to its last page and return every element."""
        elements: list[dict[str, Any]] = []
        async for page in self.iterate_pages(
            operation,
            path,
            token=token,
            scope=scope,
            params=params,
            page_size=page_size,
            finder_header=finder_header,
            max_pages=max_pages,
            paging=paging,
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
        finder_header: bool = True,
        max_pages: int = 1000,
        paging: Paging = "cursor",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page's elements of a finder.

        `cursor` paging (LinkedIn's ad searches since 202401) sends `pageSize` and `pageToken`
        and stops when `metadata.nextPageToken` is absent. `index` paging sends `start` and
        `count` and stops at a short page or at `paging.total`.
        """
        restli_method = "FINDER" if finder_header else None
        page_token: str | None = None
        start = 0
        for _ in range(max_pages):
            if paging == "cursor":
                query = {**params, "pageSize": page_size, "pageToken": page_token}
            else:
                query = {**params, "start": start, "count": page_size}
            response = await self.send(
                operation,
                "GET",
                path,
                token=token,
                scope=scope,
                params=query,
                restli_method=restli_method,
            )
            body = response.body if isinstance(response.body, dict) else {}
            elements = list(body.get("elements") or [])
            yield elements
            if paging == "cursor":
                page_token = (body.get("metadata") or {}).get("nextPageToken")
                if not page_token:
                    return
            else:
                start += len(elements)
                total = (body.get("paging") or {}).get("total")
                if len(elements) < page_size or (total is not None and start >= int(total)):
                    return
        raise LinkedInServerError(
            f"LinkedIn Ads {operation}: more than {max_pages} pages; narrow the search",
            operation=operation,
        )

    async def batch_get(
        self,
        operation: str,
        path: str,
        ids: Sequence[str | int],
        *,
        token: str,
        scope: str,
        params: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        """BATCH_GET `ids=List(...)`; each id's error comes back typed in `errors`."""
        response = await self.send(
            operation,
            "GET",
            path,
            token=token,
            scope=scope,
            params={"ids": list(ids), **(params or {})},
            restli_method="BATCH_GET",
        )
        return _batch_result(operation, path, response.body)

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

        When the outcome is unknown (a 5xx, or a network failure after the request may have
        left), `find_existing` is asked whether LinkedIn made it, and only if it did not is the
        create sent again. Without `find_existing` such a failure is raised with `sent=True`.
        """
        attempts = self.settings.linkedin_ads_max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self.send(
                    operation,
                    "POST",
                    path,
                    token=token,
                    scope=scope,
                    json=dict(body),
                    restli_method="CREATE",
                    idempotency_key=idempotency_key,
                    write=True,
                )
                return created_id(response)
            except (LinkedInTransportError, LinkedInServerError) as error:
                if not error.sent or find_existing is None or attempt == attempts:
                    raise
                logger.warning(
                    "linkedin.create_outcome_unknown",
                    extra={"operation": operation, "attempt": attempt, "error": str(error)},
                )
                try:
                    existing = await find_existing()
                except ServiceError as lookup_error:
                    # The create may still have happened: keep it marked as sent, so the
                    # idempotency store keeps the key and a retry looks again first.
                    error.sent = True
                    error.message = (
                        f"{error.message}; looking for the entity afterwards "
                        f"failed too ({lookup_error.message})"
                    )
                    raise error from lookup_error
                if existing is not None:
                    logger.info(
                        "linkedin.create_found_after_unknown_outcome",
                        extra={"operation": operation, "entity": existing},
                    )
                    return existing
                UPSTREAM_RETRIES.labels(operation, "outcome_unknown_not_created").inc()
                await asyncio.sleep(min(self._max_wait, BACKOFF_MULTIPLIER_SECONDS * attempt))
        raise AssertionError("unreachable: the last attempt re-raises")

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
        """PARTIAL_UPDATE one entity with `{"patch": {"$set": changes}}`.

        Setting the same values again changes nothing, so it is retried like a read.
        """
        await self.send(
            operation,
            "POST",
            path,
            token=token,
            scope=scope,
            json={"patch": {"$set": dict(changes)}},
            restli_method="PARTIAL_UPDATE",
            idempotency_key=idempotency_key,
        )

    async def batch_partial_update(
        self,
        operation: str,
        path: str,
        changes: Mapping[str | int, Mapping[str, Any]],
        *,
        token: str,
        scope: str,
        idempotency_key: str,
    ) -> BatchResult:
        """BATCH_PARTIAL_UPDATE `?ids=List(...)`; each id's failure comes back typed in `errors`."""
        entities = {str(key): {"patch": {"$set": dict(value)}} for key, value in changes.items()}
        response = await self.send(
            operation,
            "POST",
            path,
            token=token,
            scope=scope,
            params={"ids": list(changes)},
            json={"entities": entities},
            restli_method="BATCH_PARTIAL_UPDATE",
            idempotency_key=idempotency_key,
        )
        return _batch_result(operation, path, response.body)

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
        """Run a Rest.li ACTION (`?action=name`) and return the response's `value`."""
        response = await self.send(
            operation,
            "POST",
            path,
            token=token,
            scope=scope,
            params={"action": action},
            json=dict(body),
            restli_method="ACTION",
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            write=True,
        )
        answer = response.body
        if isinstance(answer, dict) and "value" in answer:
            return answer["value"]
        return answer

    async def delete(
        self, operation: str, path: str, *, token: str, scope: str, idempotency_key: str
    ) -> None:
        """DELETE an entity. LinkedIn deletes only DRAFT entities and rejects the rest (400)."""
        await self.send(
            operation,
            "DELETE",
            path,
            token=token,
            scope=scope,
            restli_method="DELETE",
            idempotency_key=idempotency_key,
        )


def _outcome_error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def retry_reason(error: BaseException | None) -> str:
    """Name the cause of a retry for logs and the retries metric (a bounded label)."""
    if isinstance(error, LinkedInThrottledError):
        return "throttled"
    if isinstance(error, LinkedInServerError):
        return "server_error"
    if isinstance(error, LinkedInTransportError):
        return "connection"
    return "other"


def account_path(account_id: int, *parts: str | int | Mapping[str, Any]) -> str:
    """Build `/adAccounts/{id}/...`; keys are encoded for the path, resource names kept.

    A string part that contains `:` is a URN key and is encoded (`urn%3Ali%3A...`).
    """
    segments = [f"/adAccounts/{int(account_id)}"]
    for part in parts:
        if isinstance(part, str) and ":" not in part:
            segments.append("/" + part)
        else:
            segments.append("/" + encode_key(part))
    return "".join(segments)


def key_path(resource: str, key: str | int | Mapping[str, Any]) -> str:
    """Build `/{resource}/{key}` with the key encoded, e.g. `/images/urn%3Ali%3Aimage%3AC4E`."""
    return f"/{resource.strip('/')}/{encode_key(key)}"


__all__ = [
    "BatchResult",
    "LinkedInClient",
    "LinkedInResponse",
    "account_path",
    "created_id",
    "key_path",
]
