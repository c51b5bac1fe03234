"""Service API keys: every `/v1` route acts for the one workspace whose key the caller sent."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import AuthenticationError
from app.core.settings import Settings


class ApiKeyRegistry:
    """Maps the SHA-256 of each configured key to its workspace.

    Looking up a digest of the presented key keeps the comparison independent of how many
    leading characters of a real key the caller guessed.
    """

    def __init__(self, settings: Settings) -> None:
        self._by_digest = {
            hashlib.sha256(key.get_secret_value().encode()).digest(): workspace
            for workspace, key in settings.linkedin_ads_service_api_keys.items()
        }

    def workspace_for(self, presented_key: str) -> str | None:
        return self._by_digest.get(hashlib.sha256(presented_key.encode()).digest())


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key")


async def require_workspace(request: Request) -> str:
    """Return the caller's workspace id, or answer 401."""
    key = _presented_key(request)
    if not key:
        raise AuthenticationError(
            "missing API key; send it as `Authorization: Bearer <key>` or `X-API-Key`"
        )
    workspace = request.app.state.api_keys.workspace_for(key)
    if workspace is None:
        raise AuthenticationError("invalid API key")
    return str(workspace)


WorkspaceDep = Annotated[str, Depends(require_workspace)]
