"""The `Idempotency-Key` request header and the response built from a stored write outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse

from app.idempotency.service import StoredResponse, validate_key


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Repeat a write safely: the same key returns the first outcome",
        ),
    ] = None,
) -> str:
    return validate_key(key)


def stored_response(stored: StoredResponse) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)
