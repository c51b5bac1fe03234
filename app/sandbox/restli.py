"""Rest.li 2.0 query-string parsing as LinkedIn's servers apply it.

Protocol 2.0 values are `List(a,b)`, records `(k:v,k2:v2)` (nestable) and scalars. The
structural characters `(`, `)`, `,` and `:` are sent literally, and everything inside scalars and
record keys is percent-encoded, so a scalar is decoded exactly once. All scalars come back as
strings, because the URL carries no types. The `fields` projection is not Rest.li-encoded and must
be read raw.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

RestliValue = str | list[Any] | dict[str, Any]

_STRUCTURAL = "(),:"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class RestliSyntaxError(ValueError):
    """A query parameter that is not valid Rest.li 2.0 syntax."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, reason: str) -> RestliSyntaxError:
        return RestliSyntaxError(f"{reason} at position {self.position} of {self.text!r}")

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.position += 1

    def parse_value(self) -> RestliValue:
        if self.text.startswith("List(", self.position):
            self.position += len("List(")
            return self.parse_list()
        if self.peek() == "(":
            self.position += 1
            return self.parse_record()
        return self.parse_scalar()

    def parse_list(self) -> list[Any]:
        items: list[Any] = []
        if self.peek() == ")":
            self.position += 1
            return items
        while True:
            items.append(self.parse_value())
            char = self.peek()
            self.position += 1
            if char == ")":
                return items
            if char != ",":
                self.position -= 1
                raise self.fail("expected ',' or ')' in List")

    def parse_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.peek() == ")":
            self.position += 1
            return record
        while True:
            key = self.parse_scalar()
            if not key:
                raise self.fail("empty record key")
            self.expect(":")
            if key in record:
                raise self.fail(f"duplicate record key {key!r}")
            record[key] = self.parse_value()
            char = self.peek()
            self.position += 1
            if char == ")":
                return record
            if char != ",":
                self.position -= 1
                raise self.fail("expected ',' or ')' in record")

    def parse_scalar(self) -> str:
        start = self.position
        while self.position < len(self.text) and self.text[self.position] not in _STRUCTURAL:
            self.position += 1
        raw = self.text[start : self.position]
        if _BAD_ESCAPE.search(raw):
            raise self.fail("invalid percent-encoding")
        return unquote(raw, errors="strict")


def parse_value(text: str) -> RestliValue:
    """Parse one encoded Rest.li 2.0 value, such as `List(a,b)` or `(k:(v:List(1)))`."""
    parser = _Parser(text)
    try:
        value = parser.parse_value()
    except UnicodeDecodeError as error:
        raise RestliSyntaxError(f"invalid percent-encoding in {text!r}") from error
    if parser.position != len(text):
        raise parser.fail("unexpected character")
    return value


class QueryParams:
    """Raw query parameters of one request, parsed into Rest.li values on demand."""

    def __init__(self, raw: dict[str, str], protocol_v2: bool = True) -> None:
        self.raw = raw
        self.protocol_v2 = protocol_v2

    @classmethod
    def parse(cls, query_string: str, protocol_v2: bool = True) -> QueryParams:
        """Split a raw query string on `&`, rejecting repeated names under protocol 2.0."""
        raw: dict[str, str] = {}
        for pair in query_string.split("&"):
            if not pair:
                continue
            name, _, value = pair.partition("=")
            name = unquote(name)
            if name in raw:
                if protocol_v2:
                    raise RestliSyntaxError(f"query parameter {name!r} is repeated")
                raw[name] = f"{raw[name]},{value}"
                continue
            raw[name] = value
        return cls(raw, protocol_v2)

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def value(self, name: str) -> RestliValue | None:
        """Return the parsed value of `name`, or None when absent.

        Under protocol 1.0 (no `X-Restli-Protocol-Version: 2.0.0`) the value is the decoded
        string as sent, so 2.0 syntax such as `List(...)` arrives as literal text.
        """
        if name not in self.raw:
            return None
        if not self.protocol_v2:
            return unquote(self.raw[name])
        return parse_value(self.raw[name])

    def text(self, name: str) -> str | None:
        """Return a parameter that must be a scalar, decoded once."""
        value = self.value(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RestliSyntaxError(f"query parameter {name!r} must be a single value")
        return value

    def projection(self, name: str = "fields") -> list[str] | None:
        """Return a comma-separated projection such as `fields=id,name`, which is not encoded."""
        if name not in self.raw:
            return None
        return [item for item in unquote(self.raw[name]).split(",") if item]
