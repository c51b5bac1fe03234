"""Rest.li 2.0 encoding of query parameters and path keys, as LinkedIn's gateway parses them.

Scalars are fully percent-encoded (`quote(value, safe="")`); the structural characters of
`List(...)` and of records `(key:value,...)` are not. The query string is built here once and
sent verbatim, because an HTTP library that re-encodes it (or decodes `%3A` and `%2C`) changes
what LinkedIn parses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

# Projections (`fields=id,name`) are sent without Rest.li encoding, as LinkedIn expects.
RAW_PARAMETERS = frozenset({"fields"})


@dataclass(frozen=True)
class Raw:
    """A value already in Rest.li syntax, sent as it is."""

    text: str


def encode_scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return quote(str(value), safe="")


def encode_value(value: Any) -> str:
    """Encode one value: a scalar, a list (`List(...)`), a record (`(k:v)`) or a date.

    Record keys keep the caller's order, as in LinkedIn's documentation examples; Rest.li
    records are unordered, so LinkedIn's own client, which sorts them, is equally valid.
    A `date` becomes LinkedIn's date record `(year:2024,month:1,day:31)`.
    """
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"(year:{value.year},month:{value.month},day:{value.day})"
    if isinstance(value, Mapping):
        items = ",".join(
            f"{encode_scalar(key)}:{encode_value(item)}" for key, item in value.items()
        )
        return f"({items})"
    if isinstance(value, set | frozenset):
        value = sorted(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "List(" + ",".join(encode_value(item) for item in value) + ")"
    return encode_scalar(value)


def encode_projection(value: Any) -> str:
    if isinstance(value, str):
        return value
    return ",".join(str(item) for item in value)


def encode_query(params: Mapping[str, Any]) -> str:
    """Build the whole query string. `None` values are left out; keys keep the caller's order."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if key in RAW_PARAMETERS:
            parts.append(f"{key}={encode_projection(value)}")
        else:
            parts.append(f"{quote(key, safe='')}={encode_value(value)}")
    return "&".join(parts)


def encode_key(key: str | int | Mapping[str, Any]) -> str:
    """Encode a resource key for a URL path.

    Numbers go bare, strings and URNs are encoded entirely (`urn%3Ali%3A...`), and a compound
    key (a mapping) becomes a record such as `(account:urn%3Ali%3A...,user:urn%3Ali%3A...)`.
    """
    if isinstance(key, bool):
        raise TypeError("a resource key cannot be a boolean")
    if isinstance(key, int):
        return str(key)
    if isinstance(key, Mapping):
        return encode_value(key)
    return quote(key, safe="")


# LinkedIn's "reduced decoding" of keys in headers such as `x-restli-id`; `%25` goes last so
# that `%253A` becomes `%3A` and not `:`.
_REDUCED_DECODING = (
    ("%28", "("),
    ("%29", ")"),
    ("%2C", ","),
    ("%3A", ":"),
    ("%27", "'"),
    ("%25", "%"),
)


def decode_header_key(value: str) -> str:
    """Undo the percent-encoding LinkedIn may apply to a key in a response header."""
    for encoded, plain in _REDUCED_DECODING:
        value = value.replace(encoded, plain).replace(encoded.lower(), plain)
    return value


# ---- Finder parameters of LinkedIn's ad resources -----------------------------------------------
# Each returns the parameter map for `encode_query`; paging parameters are added by the client.


def values_criteria(**criteria: Sequence[Any] | bool | None) -> dict[str, Any]:
    """Build a `search=(...)` record: lists become `(values:List(...))`, booleans stay bare."""
    record: dict[str, Any] = {}
    for name, values in criteria.items():
        if values is None:
            continue
        record[name] = values if isinstance(values, bool) else {"values": list(values)}
    return record


def ad_accounts_search(
    *,
    ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    test: bool | None = None,
) -> dict[str, Any]:
    """`GET /adAccounts?q=search`; without criteria LinkedIn returns every accessible account."""
    search = values_criteria(id=ids, status=statuses, test=test)
    return {"q": "search", "search": search or None}


def campaign_groups_search(
    *,
    ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    sort_order: str = "ASCENDING",
) -> dict[str, Any]:
    """`GET /adAccounts/{id}/adCampaignGroups?q=search`, sorted by id."""
    search = values_criteria(id=ids, status=statuses, name=names)
    return {"q": "search", "search": search or None, "sortOrder": sort_order}


def campaigns_search(
    *,
    campaign_groups: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    sort_order: str = "ASCENDING",
) -> dict[str, Any]:
    """`GET /adAccounts/{id}/adCampaigns?q=search`; LinkedIn requires at least one criterion."""
    search = values_criteria(campaignGroup=campaign_groups, status=statuses, id=ids)
    if not search:
        raise ValueError("LinkedIn's campaign search needs at least one criterion")
    return {"q": "search", "search": search, "sortOrder": sort_order}


def creatives_criteria(
    *,
    campaigns: Sequence[str] | None = None,
    creatives: Sequence[str] | None = None,
    intended_statuses: Sequence[str] | None = None,
    sort_order: str = "ASCENDING",
) -> dict[str, Any]:
    """`GET /adAccounts/{id}/creatives?q=criteria`; send it with `X-RestLi-Method: FINDER`."""
    return {
        "q": "criteria",
        "campaigns": list(campaigns) if campaigns else None,
        "creatives": list(creatives) if creatives else None,
        "intendedStatuses": list(intended_statuses) if intended_statuses else None,
        "sortOrder": sort_order,
    }


# LinkedIn accepts at most 20 `fields` per analytics call, `dateRange` and `pivotValues` included.
MAX_ANALYTICS_FIELDS = 20


def analytics_query(
    *,
    pivot: str,
    time_granularity: str,
    start: date,
    end: date | None = None,
    accounts: Sequence[str] | None = None,
    campaign_groups: Sequence[str] | None = None,
    campaigns: Sequence[str] | None = None,
    creatives: Sequence[str] | None = None,
    fields: Sequence[str] = (),
) -> dict[str, Any]:
    """`GET /adAnalytics?q=analytics`: one pivot, an inclusive date range and a facet."""
    if len(fields) > MAX_ANALYTICS_FIELDS:
        raise ValueError(
            f"LinkedIn returns at most {MAX_ANALYTICS_FIELDS} analytics fields per call, "
            f"got {len(fields)}; split the fields over several calls"
        )
    facets = {
        "accounts": accounts,
        "campaignGroups": campaign_groups,
        "campaigns": campaigns,
        "creatives": creatives,
    }
    if not any(facets.values()):
        raise ValueError("LinkedIn analytics needs at least one facet (accounts, campaigns, ...)")
    date_range: dict[str, Any] = {"start": start}
    if end is not None:
        date_range["end"] = end
    params: dict[str, Any] = {
        "q": "analytics",
        "pivot": pivot,
        "timeGranularity": time_granularity,
        "dateRange": date_range,
    }
    params.update({name: list(values) for name, values in facets.items() if values})
    if fields:
        params["fields"] = list(fields)
    return params
