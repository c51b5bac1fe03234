"""Validation shared by the ads resources: Rest.li schema checks (422) and business rules (400).

Schema problems are reported first and alone, because Rest.li validates the data before the ads
service receives it. Business rules are collected and sent in one ads validation body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.sandbox.errors import ApiError, InputError, json_literal, schema_error, validation_error


@dataclass(frozen=True)
class Spec:
    """Type of one field: `kind` is string, long, boolean, enum, record, array, map or any."""

    kind: str
    symbols: frozenset[str] = frozenset()
    fields: dict[str, Field] | None = None
    items: Spec | None = None


@dataclass(frozen=True)
class Field:
    spec: Spec
    # First API version (YYYYMM) that accepts the field. Older versions reject it as unknown.
    since: str | None = None
    read_only: bool = False
    create_only: bool = False


STRING = Spec("string")
LONG = Spec("long")
BOOLEAN = Spec("boolean")
ANY = Spec("any")


def enum(*symbols: str) -> Spec:
    return Spec("enum", symbols=frozenset(symbols))


def record(**fields: Field | Spec) -> Spec:
    wrapped = {name: f if isinstance(f, Field) else Field(f) for name, f in fields.items()}
    return Spec("record", fields=wrapped)


def array(items: Spec) -> Spec:
    return Spec("array", items=items)


def map_of(items: Spec) -> Spec:
    return Spec("map", items=items)


MONEY = record(amount=STRING, currencyCode=STRING)
RUN_SCHEDULE = record(start=LONG, end=LONG)

_COERCE_NAMES = {"string": "String", "long": "Long", "boolean": "Boolean"}


def _check(
    value: Any,
    spec: Spec,
    path: str,
    problems: list[tuple[str, str]],
    mode: str,
    version: str | None,
) -> None:
    kind = spec.kind
    if kind == "any":
        return
    if kind in _COERCE_NAMES:
        valid = {
            "string": isinstance(value, str),
            "long": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
        }[kind]
        if not valid:
            text = f"{json_literal(value)} cannot be coerced to {_COERCE_NAMES[kind]}"
            problems.append((path, text))
        return
    if kind == "enum":
        if not isinstance(value, str) or value not in spec.symbols:
            problems.append((path, f"{json_literal(value)} is not an enum symbol"))
        return
    if kind in {"record", "map"}:
        if not isinstance(value, dict):
            problems.append((path, f"{json_literal(value)} is not backed by a DataMap"))
            return
        if kind == "map":
            assert spec.items is not None
            for key, item in value.items():
                _check(item, spec.items, f"{path}/{key}", problems, mode, version)
            return
        check_record(value, spec, path, problems, mode, version)
        return
    if kind == "array":
        if not isinstance(value, list):
            problems.append((path, f"{json_literal(value)} is not backed by a DataList"))
            return
        assert spec.items is not None
        for index, item in enumerate(value):
            _check(item, spec.items, f"{path}/{index}", problems, mode, version)


def check_record(
    value: dict[str, Any],
    spec: Spec,
    path: str,
    problems: list[tuple[str, str]],
    mode: str,
    version: str | None,
) -> None:
    """Check the keys of a record; `mode` is `create` or `partial_update`."""
    assert spec.fields is not None
    for key, item in value.items():
        field_path = f"{path}/{key}"
        definition = spec.fields.get(key)
        if definition is not None and definition.since and version and version < definition.since:
            definition = None
        if definition is None:
            problems.append((field_path, "unrecognized field found but not allowed"))
            continue
        if definition.read_only:
            problems.append((field_path, f"ReadOnly field present in a {mode} request"))
            continue
        if definition.create_only and mode == "partial_update" and path == "":
            problems.append((field_path, f"CreateOnly field present in a {mode} request"))
            continue
        _check(item, definition.spec, field_path, problems, mode, version)


def raise_schema_problems(body: dict[str, Any], spec: Spec, mode: str, version: str | None) -> None:
    problems: list[tuple[str, str]] = []
    check_record(body, spec, "", problems, mode, version)
    if problems:
        raise schema_error(problems)


@dataclass
class Problems:
    """Business-rule failures collected while validating one write."""

    errors: list[InputError] = field(default_factory=list)

    def add(self, code: str, field_path: str, description: str) -> None:
        self.errors.append(InputError(code, field_path, description))

    def missing(self, field_path: str) -> None:
        self.add("MISSING_FIELD", field_path, f"{field_path} is required but missing")

    def raise_if_any(self) -> None:
        if self.errors:
            raise validation_error(self.errors)


def parse_patch(body: dict[str, Any]) -> dict[str, Any]:
    """Return the `patch` object of a Rest.li PARTIAL_UPDATE body, or raise 400."""
    patch = body.get("patch")
    if set(body) != {"patch"} or not isinstance(patch, dict):
        raise ApiError(
            400,
            {"message": 'A partial update body must be {"patch": {"$set": {...}}}', "status": 400},
        )
    return patch


def apply_patch(target: dict[str, Any], patch: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Apply Rest.li `$set`/`$delete` (nested patches allowed) to a copy of `target`."""
    result = dict(target)
    for key, value in patch.items():
        if key == "$set":
            if not isinstance(value, dict):
                raise ApiError(400, {"message": f"{path}/$set must be an object", "status": 400})
            result.update(value)
        elif key == "$delete":
            if not isinstance(value, list):
                raise ApiError(400, {"message": f"{path}/$delete must be a list", "status": 400})
            for name in value:
                result.pop(name, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = apply_patch(
                current if isinstance(current, dict) else {}, value, f"{path}/{key}"
            )
        else:
            raise ApiError(
                400, {"message": f"Invalid patch operation at {path}/{key}", "status": 400}
            )
    return result


def patch_schema_body(patch: dict[str, Any]) -> dict[str, Any]:
    """Flatten the values a patch sets into one record, for the schema check."""
    flat: dict[str, Any] = {}
    for key, value in patch.items():
        if key == "$set" and isinstance(value, dict):
            flat.update(value)
        elif key not in {"$set", "$delete"} and isinstance(value, dict):
            flat[key] = patch_schema_body(value)
    return flat


def decimal_amount(text: Any) -> Decimal | None:
    """Return the value of a decimal string such as "12.50", or None when it is not one."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or "e" in text.lower():
        return None
    return value


def check_money(
    problems: Problems,
    path: str,
    money: Any,
    currency: str,
    minimum: Decimal | None = None,
    allow_zero: bool = False,
) -> None:
    """Check a `{"amount","currencyCode"}` value against the account currency and a minimum."""
    if not isinstance(money, dict):
        return
    if "amount" not in money:
        problems.missing(f"{path}/amount")
        return
    if "currencyCode" not in money:
        problems.missing(f"{path}/currencyCode")
        return
    amount = decimal_amount(money["amount"])
    if amount is None:
        problems.add(
            "INVALID_VALUE_FOR_FIELD",
            f"{path}/amount",
            f"{path}/amount {json_literal(money['amount'])} is not a valid decimal amount",
        )
        return
    if money["currencyCode"] != currency:
        problems.add(
            "CURRENCY_MISMATCH",
            f"{path}/currencyCode",
            f"{path}/currencyCode {money['currencyCode']} does not match the account "
            f"currency {currency}",
        )
        return
    if amount < 0 or (amount == 0 and not allow_zero):
        problems.add(
            "FIELD_VALUE_TOO_LOW", f"{path}/amount", f"{path}/amount must be greater than 0"
        )
        return
    if minimum is not None and amount < minimum and not (allow_zero and amount == 0):
        problems.add(
            "FIELD_VALUE_TOO_LOW",
            f"{path}/amount",
            f"{path}/amount {money['amount']} is below the minimum of {minimum} {currency}",
        )


def check_schedule(
    problems: Problems,
    schedule: Any,
    *,
    now_ms: int,
    grace_ms: int,
    previous: dict[str, Any] | None,
    is_draft: bool,
    required_end: bool,
) -> None:
    """Check runSchedule: start present and not in the past, end after start.

    `previous` is the stored schedule on an update. A start that has already passed may not
    change unless the entity is a DRAFT, and a DRAFT whose stored start passed must be given a
    new one, because LinkedIn re-validates the whole record on every partial update.
    """
    if not isinstance(schedule, dict) or "start" not in schedule:
        problems.missing("/runSchedule/start")
        return
    start = schedule["start"]
    end = schedule.get("end")
    start_changed = previous is None or previous.get("start") != start
    earliest = now_ms - grace_ms
    if previous is not None and not start_changed:
        if is_draft and start < earliest:
            problems.add(
                "DATE_TOO_EARLY",
                "/runSchedule/start",
                f"/runSchedule/start {start} is in the past: set a new start time",
            )
    elif previous is not None and not is_draft and previous.get("start", 0) < earliest:
        problems.add(
            "DATE_IMMUTABLE_WHEN_PASSED",
            "/runSchedule/start",
            "/runSchedule/start can't be changed after the start date has passed",
        )
    elif start < earliest:
        problems.add(
            "DATE_TOO_EARLY", "/runSchedule/start", f"/runSchedule/start {start} is in the past"
        )
    if end is None:
        if required_end:
            problems.add(
                "MISSING_FIELD",
                "/runSchedule/end",
                "/runSchedule/end is required when totalBudget is set",
            )
        return
    if end <= start:
        problems.add(
            "START_DATE_AFTER_END_DATE",
            "/runSchedule/end",
            f"/runSchedule/end {end} must be after /runSchedule/start {start}",
        )


def check_status_change(
    problems: Problems,
    field_name: str,
    before: str,
    after: str,
    transitions: dict[str, frozenset[str]],
) -> None:
    if before == after:
        return
    if after not in transitions.get(before, frozenset()):
        problems.add(
            "STATUS_CHANGE_NOT_ALLOWED",
            f"/{field_name}",
            f"{field_name} can't be changed from {before} to {after}",
        )
