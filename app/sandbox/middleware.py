"""ASGI middleware for LinkedIn-facing paths: tracing headers, request log, faults, gateway
limits (411, 414) and query tunnelling."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox.errors import ApiError, restli_error
from app.sandbox.faults import Drop, server_error, throttle_error
from app.sandbox.protocol import version_not_active
from app.sandbox.runtime import Sandbox

LINKEDIN_PREFIXES = ("/rest", "/oauth", "/v2", "/mediaUpload", "/dms-uploads")
GATEWAY_PREFIXES = ("/rest", "/v2")
LOGGED_HEADERS = (
    "linkedin-version",
    "x-restli-protocol-version",
    "x-restli-method",
    "x-http-method-override",
    "idempotency-key",
    "content-type",
)
# Form fields whose values never reach the request log.
SECRET_FORM_FIELDS = frozenset({"client_secret", "code", "refresh_token", "token"})
MAX_QUERY_LENGTH = 4000
MAX_URL_LENGTH = 8192
MAX_SEGMENT_LENGTH = 4096
MAX_LOGGED_BODY = 1_048_576
MAX_TUNNELLED_BODY = 1_048_576

logger = logging.getLogger("app.sandbox")


class SimulatedDrop(Exception):
    """Raised after a response start to make the server close the connection mid-response."""


class DropFilter(logging.Filter):
    """Keep uvicorn from logging the deliberate SimulatedDrop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and isinstance(exc_info[1], SimulatedDrop))


def _tracing_headers() -> list[tuple[bytes, bytes]]:
    uuid = base64.b64encode(secrets.token_bytes(16)).decode()
    return [
        (b"x-li-uuid", uuid.encode()),
        (b"x-li-fabric", b"prod-lor1"),
        (b"x-li-request-id", secrets.token_hex(12).encode()),
        (b"x-li-pop", b"prod-esv5"),
        (b"x-li-proto", b"http/1.1"),
    ]


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


async def _send_error(send: Send, error: ApiError, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(error.body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _split_multipart(body: bytes, content_type: str) -> tuple[str, bytes] | None:
    """Return (query string, JSON body) of a multipart/mixed tunnelled request."""
    boundary = ""
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return None
    query = ""
    json_body = b""
    for chunk in body.split(b"--" + boundary.encode()):
        chunk = chunk.strip(b"\r\n")
        if not chunk or chunk == b"--":
            continue
        head, _, content = chunk.partition(b"\r\n\r\n")
        head_text = head.decode("latin-1").lower()
        if "application/x-www-form-urlencoded" in head_text:
            query = content.decode("latin-1").strip()
        elif "application/json" in head_text:
            json_body = content.strip()
    return query, json_body


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LINKEDIN_PREFIXES):
            await self.app(scope, receive, send)
            return
        tracing = _tracing_headers()
        entry = self._log_entry(scope)
        captured = bytearray()
        capture = self._should_capture(scope)

        async def logging_receive() -> Message:
            message = await receive()
            if capture and message["type"] == "http.request":
                if len(captured) < MAX_LOGGED_BODY:
                    captured.extend(message.get("body", b""))
            return message

        async def traced_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *tracing]}
            await send(message)

        self.sandbox.request_log.append(entry)
        try:
            await self._handle(scope, logging_receive, traced_send, tracing, entry)
        finally:
            if captured:
                self._record_body(entry, bytes(captured))

    def _should_capture(self, scope: Scope) -> bool:
        if scope["path"].startswith(("/mediaUpload", "/dms-uploads")):
            return False
        content_type = (_header(scope, "content-type") or "").lower()
        return (
            "json" in content_type
            or "form-urlencoded" in content_type
            or ("multipart/mixed" in content_type)
        )

    def _log_entry(self, scope: Scope) -> dict[str, Any]:
        headers = {name: _header(scope, name) for name in LOGGED_HEADERS}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return {
            "time_ms": self.sandbox.state.now_ms(),
            "method": scope["method"],
            "path": raw_path.decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": {name: value for name, value in headers.items() if value is not None},
            "authorization_present": _header(scope, "authorization") is not None,
            "body": None,
            "form": None,
            "status": None,
            "dropped": False,
        }

    def _record_body(self, entry: dict[str, Any], body: bytes) -> None:
        content_type = entry["headers"].get("content-type", "").lower()
        if "form-urlencoded" in content_type:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            entry["form"] = {
                name: ("<redacted>" if name in SECRET_FORM_FIELDS else value)
                for name, value in pairs
            }
            if entry["headers"].get("x-http-method-override"):
                entry["tunnelled_query"] = body.decode("latin-1")
            return
        if "multipart/mixed" in content_type:
            parts = _split_multipart(body, entry["headers"]["content-type"])
            if parts:
                entry["tunnelled_query"] = parts[0]
                body = parts[1]
        try:
            entry["body"] = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            entry["body"] = None

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        tracing: list[tuple[bytes, bytes]],
        entry: dict[str, Any],
    ) -> None:
        method = scope["method"].upper()
        override = _header(scope, "x-http-method-override")
        decision = self.sandbox.faults.decide(method, override, entry["path"])
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        action = decision.action
        if action is not None:
            logger.info(
                "sandbox fault fires on %s %s: %s",
                method,
                entry["path"],
                action.model_dump(exclude_none=True, exclude={"match"}),
            )
            if action.drop is not None and action.drop.when == "before_commit":
                await self._drop(scope, send, entry, 200, action.drop)
                return
            error: ApiError | None = None
            if action.status is not None:
                error = server_error(action.status)
                if action.body is not None:
                    error = ApiError(action.status, action.body)
            elif action.throttle is not None:
                error = throttle_error(action.throttle.kind, action.throttle.scope)
            elif action.sunset_version:
                raw = (_header(scope, "linkedin-version") or "").strip()
                error = version_not_active(raw)
            elif action.revoke_token:
                self._revoke_bearer(scope)
            if error is not None:
                extra = [
                    (key.lower().encode(), value.encode()) for key, value in action.headers.items()
                ]
                await _send_error(send, error, extra)
                return
        if scope["path"].startswith(GATEWAY_PREFIXES):
            gateway_error = self._gateway_error(scope, method)
            if gateway_error is not None:
                await _send_error(send, gateway_error, [])
                return
            if method == "POST" and override:
                tunnelled = await self._untunnel(scope, receive, override)
                if isinstance(tunnelled, ApiError):
                    await _send_error(send, tunnelled, [])
                    return
                scope, receive = tunnelled
        if action is not None and action.drop is not None:
            await self._run_then_drop(scope, receive, send, entry, action.drop)
            return
        await self.app(scope, receive, send)

    def _revoke_bearer(self, scope: Scope) -> None:
        header = _header(scope, "authorization") or ""
        _, _, value = header.strip().partition(" ")
        token = self.sandbox.state.tokens.get(value.strip())
        if token is not None:
            token.revoked = True

    def _gateway_error(self, scope: Scope, method: str) -> ApiError | None:
        query = scope.get("query_string", b"")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        segments = raw_path.split(b"/")
        if (
            len(query) > MAX_QUERY_LENGTH
            or len(raw_path) + len(query) + 1 > MAX_URL_LENGTH
            or any(len(segment) > MAX_SEGMENT_LENGTH for segment in segments)
        ):
            return restli_error(414, "Request-URI Too Long: use query tunnelling for long queries")
        has_length = _header(scope, "content-length") is not None
        chunked = "chunked" in (_header(scope, "transfer-encoding") or "").lower()
        if method == "POST" and not has_length and not chunked:
            return restli_error(411, "Length Required")
        return None

    async def _untunnel(
        self, scope: Scope, receive: Receive, override: str
    ) -> tuple[Scope, Receive] | ApiError:
        """Turn a tunnelled POST back into the request it carries."""
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if len(body) > MAX_TUNNELLED_BODY:
                return restli_error(413, "The tunnelled request body is too large")
            if not message.get("more_body"):
                break
        content_type = (_header(scope, "content-type") or "").lower()
        inner_body = b""
        if content_type.startswith("application/x-www-form-urlencoded"):
            query = body.decode("latin-1").strip()
        elif content_type.startswith("multipart/mixed"):
            parts = _split_multipart(bytes(body), _header(scope, "content-type") or "")
            if parts is None:
                return restli_error(400, "A multipart/mixed tunnelled request needs a boundary")
            query, inner_body = parts
        else:
            return restli_error(
                400,
                "A tunnelled request needs Content-Type application/x-www-form-urlencoded "
                "or multipart/mixed",
            )
        original = scope.get("query_string", b"").decode("latin-1")
        combined = "&".join(part for part in (original, query) if part)
        headers = [
            (key, value)
            for key, value in scope["headers"]
            if key.lower() not in {b"content-type", b"content-length", b"x-http-method-override"}
        ]
        if inner_body:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(inner_body)).encode()))
        new_scope = {
            **scope,
            "method": override.upper(),
            "query_string": combined.encode("latin-1"),
            "headers": headers,
        }
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": inner_body, "more_body": False}

        return new_scope, replay

    async def _run_then_drop(
        self, scope: Scope, receive: Receive, send: Send, entry: dict[str, Any], drop: Drop
    ) -> None:
        """Perform the request fully, then break the connection instead of sending the response."""
        status = 200

        async def swallow(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, swallow)
        await self._drop(scope, send, entry, status, drop)

    async def _drop(
        self, scope: Scope, send: Send, entry: dict[str, Any], status: int, drop: Drop
    ) -> None:
        entry["dropped"] = True
        entry["status"] = status
        logger.info(
            "sandbox fault: dropping the connection of %s %s (%s)",
            scope["method"],
            entry["path"],
            drop.mode,
        )
        if drop.mode == "hang":
            await asyncio.sleep(drop.hang_seconds)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        raise SimulatedDrop(f"simulated dropped connection on {scope['method']} {entry['path']}")
