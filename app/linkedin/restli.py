"""Rest.li 2.0 encoding of query parameters and path keys, as LinkedIn's gateway parses them.

Scalars are fully percent-encoded; the structural characters of `List(...)` and of records
`(key:value,...)` are not. The query string is built here once and sent verbatim, because an
HTTP library that re-encodes it turns `%3A` into `%253A` and LinkedIn then matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

# Projections (`fields=id,name`) are passed through unencoded, as LinkedIn expects.
RAW_PARAMETERS = frozenset({"fields"})


@dataclass(frozen=True)
class Raw:
    """A value already in Rest.li syntax, sent as it is."""

    text: str


def encode_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return quote(str(value), safe="")


def encode_value(value: Any) -> str:
    """Encode one parameter value: a scalar, a list (`List(...)`) or a record (`(k:v)`)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, date):
        return f"(year:{value.year},month:{value.month},day:{value.day})"
    if isinstance(value, Mapping):
        items = ",".join(
            f"{encode_scalar(key)}:{encode_value(item)}" for key, item in sorted(value.items())
        )
        return f"({items})"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "List(" + ",".join(encode_value(item) for item in value) + ")"
    return encode_scalar(value)


def encode_query(params: Mapping[str, Any]) -> str:
    """Build the whole query string; `None` values are left out, keys keep the caller's order."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if key in RAW_PARAMETERS:
            text = ",".join(value) if isinstance(value, Sequence) and not isinstance(value, str) else str(value)
            parts.append(f"{key}={text}")
        else:
            parts.append(f"{quote(key, safe='')}={encode_value(value)}")
    return "&".join(parts)


def encode_key(key: str | int) -> str:
    """Encode a resource key for a URL path: numbers bare, URNs and strings fully encoded."""
    if isinstance(key, int):
        return str(key)
    return quote(key, safe="")


# The "reduced decoding" LinkedIn applies to keys in headers such as `x-restli-id`.
_REDUCED_DECODING = {"%28": "(", "%29": ")", "%2C": ",", "%3A": ":", "%27": "'", "%25": "%"}


def decode_header_key(value: str) -> str:
    for encoded, plain in _REDUCED_DECODING.items():
        value = value.replace(encoded, plain).replace(encoded.lower(), plain)
    return value
