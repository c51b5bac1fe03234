"""Request ids and request body limits, as plain ASGI middleware."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence

from starlette.exceptions import HTTPException

from app.core.errors import ServiceError
from app.core.logging import request_id_var
from app.core.metrics import ASGIApp, Message, Receive, Scope, Send

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Take `X-Request-Id` from the caller (or make one), log it, and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_REQUEST_ID.match(candidate):
                    request_id = candidate
                break
        if request_id is None:
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        encoded = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", encoded)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodyTooLargeError(ServiceError):
    status_code = 413
    code = "body_too_large"


class _StreamTooLarge(HTTPException):
    """Raised from `receive` mid-stream; FastAPI lets HTTPExceptions of body reads through."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=_too_large(limit))


class BodyLimitMiddleware:
    """Reject request bodies over a size limit before they are read into memory.

    A declared `Content-Length` over the limit is refused at once; a body without one is
    counted as it streams and refused when it passes the limit. Paths matching a pattern in
    `path_limits` (uploads) get their own, larger limit.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = [(re.compile(pattern), limit) for pattern, limit in path_limits]

    def _limit_for(self, path: str) -> int:
        if not self.path_limits:
            return self.max_bytes
        for pattern, limit in self.path_limits:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(scope, send, limit)
                return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _StreamTooLarge(limit)
            return message

        await self.app(scope, counted_receive, send)

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        error = BodyTooLargeError(_too_large(limit))
        body = json.dumps({"error": error.to_json(), "requestId": request_id_var.get()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> str:
    return f"request body is larger than {limit} bytes; send less or split the request"
