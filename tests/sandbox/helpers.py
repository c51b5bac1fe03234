"""Helpers for the sandbox tests: a Rest.li encoder written apart from the sandbox's parser,
protocol headers and token minting."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

API_VERSION = "202601"


def encode(value: Any) -> str:
    """Encode a value in Rest.li 2.0 query syntax, independently of the sandbox's parser."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "List(" + ",".join(encode(item) for item in value) + ")"
    if isinstance(value, dict):
        fields = ",".join(f"{quote(str(k), safe='')}:{encode(v)}" for k, v in value.items())
        return f"({fields})"
    return quote(str(value), safe="")


def rest_headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
        **extra,
    }


async def mint_token(
    sandbox: httpx.AsyncClient,
    member: str = "sandbox-member-1",
    scopes: list[str] | None = None,
    **extra: Any,
) -> str:
    body: dict[str, Any] = {"member": member, **extra}
    if scopes is not None:
        body["scopes"] = scopes
    response = await sandbox.post("/_sandbox/tokens", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def sandbox_now_ms(sandbox: httpx.AsyncClient) -> int:
    return int((await sandbox.get("/_sandbox/clock")).json()["now_ms"])
