"""Helpers shared by the ads resources: account access, ids and URNs, cursor pages, batches."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from app.sandbox.errors import ApiError, bad_request, coded_error, not_found
from app.sandbox.protocol import RestContext
from app.sandbox.state import WRITE_ROLES, AdEntity

T = TypeVar("T")

CANCELED_STATUSES = frozenset({"CANCELED", "CANCELLED", "REMOVED"})
_URN_PATTERN = re.compile(r"^urn:li:([A-Za-z]+):(.+)$")


def parse_long(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise bad_request(f"Invalid {what} {text!r}: expected a numeric id")
    return int(text)


def parse_urn(value: Any, entity_type: str, what: str) -> int:
    """Return the numeric id of `urn:li:{entity_type}:{id}`, or raise 400."""
    if not isinstance(value, str):
        raise bad_request(f"Invalid {what}: expected a URN string")
    match = _URN_PATTERN.match(value)
    if not match or match.group(1) != entity_type or not match.group(2).isdigit():
        raise bad_request(f"Invalid {what} {value!r}: expected urn:li:{entity_type}:<id>")
    return int(match.group(2))


def is_urn(value: Any, *entity_types: str) -> bool:
    if not isinstance(value, str):
        return False
    match = _URN_PATTERN.match(value)
    if match is None:
        return False
    return not entity_types or match.group(1) in entity_types


def load_account(ctx: RestContext, account_text: str, method: str, write: bool) -> AdEntity:
    """Return the path's ad account after checking that the member may read or write it."""
    account_id = parse_long(account_text, "ad account id")
    account: AdEntity | None = ctx.state.accounts.get(account_id)
    if account is None:
        raise not_found(f"Ad account {account_id} does not exist")
    role = ctx.state.roles.get((account_id, ctx.member))
    if role is None:
        raise ctx.denied(method)
    if write and role not in WRITE_ROLES:
        raise coded_error(
            403,
            "NO_PERMISSION_TO_UPDATE",
            f"Member has role {role} on account {account_id}, which does not allow changes",
            100,
        )
    return account


def reject_if_account_closed(account: AdEntity) -> None:
    if account.fields["status"] in CANCELED_STATUSES:
        raise coded_error(
            400,
            "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS",
            f"Ad account {account.id} is {account.fields['status']} and can't be changed",
        )


def require_method_header(ctx: RestContext, expected: str) -> None:
    if ctx.restli_method != expected:
        raise bad_request(
            f"The X-RestLi-Method header must be {expected} for this request "
            f"(received {ctx.restli_method or 'none'})"
        )


def ids_param(ctx: RestContext) -> list[str]:
    value = ctx.params.value("ids")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("Invalid ids parameter: expected ids=List(id1,id2,...)")
    return value


def bool_param(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text not in {"true", "false"}:
        raise bad_request(f"Invalid {name} {text!r}: expected true or false")
    return text == "true"


def values_criterion(criteria: dict[str, Any], name: str) -> list[str] | None:
    """Return the values of a search criterion written `name:(values:List(...))`."""
    if name not in criteria:
        return None
    criterion = criteria[name]
    values = criterion.get("values") if isinstance(criterion, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise bad_request(f"Invalid search criterion {name}: expected {name}:(values:List(...))")
    return values


def search_criteria(ctx: RestContext, allowed: set[str], required: bool) -> dict[str, Any]:
    value = ctx.params.value("search")
    if value is None:
        if required:
            raise bad_request("The search parameter is required: search=(...)")
        return {}
    if not isinstance(value, dict):
        raise bad_request(
            "Invalid search parameter: expected search=(criterion:(values:List(...)))"
        )
    unknown = set(value) - allowed
    if unknown:
        raise bad_request(f"Unknown search criteria: {', '.join(sorted(unknown))}")
    return value


def _encode_cursor(last_id: int) -> str:
    raw = json.dumps({"after": last_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        after = json.loads(raw)["after"]
    except (ValueError, KeyError, TypeError) as error:
        raise bad_request(f"Invalid pageToken {token!r}") from error
    if not isinstance(after, int):
        raise bad_request(f"Invalid pageToken {token!r}")
    return after


def page_size_param(ctx: RestContext, maximum: int, default: int) -> int:
    text = ctx.params.text("pageSize")
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"Invalid pageSize {text!r}: expected a positive integer")
    if int(text) > maximum:
        raise bad_request(f"Invalid pageSize {text}: the maximum page size is {maximum}")
    return int(text)


def sort_descending(ctx: RestContext) -> bool:
    order = ctx.params.text("sortOrder") or "ASCENDING"
    if order not in {"ASCENDING", "DESCENDING"}:
        raise bad_request(f"Invalid sortOrder {order!r}: expected ASCENDING or DESCENDING")
    return order == "DESCENDING"


def cursor_page(
    ctx: RestContext,
    items: Sequence[T],
    key: Callable[[T], int],
    *,
    maximum: int = 1000,
    default: int = 100,
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """Return one cursor page of `items` (already sorted) as LinkedIn's search envelope."""
    size = page_size_param(ctx, maximum, default)
    descending = sort_descending(ctx)
    token = ctx.params.text("pageToken")
    start = 0
    if token:
        after = _decode_cursor(token)
        start = len(items)
        for index, item in enumerate(items):
            if (key(item) < after) if descending else (key(item) > after):
                start = index
                break
    page = items[start : start + size]
    metadata: dict[str, Any] = {}
    if start + size < len(items):
        metadata["nextPageToken"] = _encode_cursor(key(page[-1]))
    return {"elements": [render(item) for item in page], "metadata": metadata}


def batch_get_response(found: dict[str, dict[str, Any]], missing: list[str]) -> dict[str, Any]:
    return {
        "results": found,
        "statuses": {key: 404 for key in missing},
        "errors": {key: {"status": 404, "message": "Not Found"} for key in missing},
    }


def batch_update_body(ctx_body: dict[str, Any]) -> dict[str, Any]:
    entities = ctx_body.get("entities")
    if set(ctx_body) != {"entities"} or not isinstance(entities, dict):
        raise bad_request(
            'A batch partial update body must be {"entities": {"<id>": {"patch": ...}}}'
        )
    return entities


def error_entry(error: ApiError) -> dict[str, Any]:
    return {**error.body, "status": error.status}
