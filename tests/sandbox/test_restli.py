"""Rest.li 2.0 query parsing, including the encoder vectors of LinkedIn's Python client."""

from __future__ import annotations

import pytest

from app.sandbox.restli import QueryParams, RestliSyntaxError, parse_value
from tests.sandbox.helpers import encode


def test_record_vector() -> None:
    text = "(k1:v1,k2:urn%3Ali%3Aapp%3A123,k3:List(1,2),k4:(k41:foobar))"
    assert parse_value(text) == {
        "k1": "v1",
        "k2": "urn:li:app:123",
        "k3": ["1", "2"],
        "k4": {"k41": "foobar"},
    }


def test_list_vector() -> None:
    text = "List((k1:v1),List(v2,%20t%3F%27%3A%2C%2A%21))"
    assert parse_value(text) == [{"k1": "v1"}, ["v2", " t?':,*!"]]


def test_nested_search() -> None:
    text = "(status:(values:List(ACTIVE,PAUSED)),test:false)"
    assert parse_value(text) == {"status": {"values": ["ACTIVE", "PAUSED"]}, "test": "false"}


def test_date_range() -> None:
    text = "(start:(year:2024,month:1,day:1),end:(year:2024,month:1,day:31))"
    assert parse_value(text) == {
        "start": {"year": "2024", "month": "1", "day": "1"},
        "end": {"year": "2024", "month": "1", "day": "31"},
    }


def test_empty_list_and_record() -> None:
    assert parse_value("List()") == []
    assert parse_value("()") == {}


def test_encoder_round_trip() -> None:
    value = {"a": ["urn:li:sponsoredCampaign:1", "x y"], "b": {"c": "(,):'"}}
    assert parse_value(encode(value)) == value


def test_double_encoded_urn_stays_encoded() -> None:
    assert parse_value("urn%253Ali%253Aapp%253A1") == "urn%3Ali%3Aapp%3A1"


@pytest.mark.parametrize(
    "text",
    ["List(a,b", "(k1:v1", "(k1)", "(k1:v1,k1:v2)", "List(a)b", "(:v)", "a%zz"],
)
def test_malformed_rejected(text: str) -> None:
    with pytest.raises(RestliSyntaxError):
        parse_value(text)


def test_query_params_split() -> None:
    params = QueryParams.parse("q=search&search=(name:(values:List(a%20b)))&fields=id,name")
    assert params.text("q") == "search"
    assert params.value("search") == {"name": {"values": ["a b"]}}
    assert params.projection() == ["id", "name"]


def test_repeated_param_rejected() -> None:
    with pytest.raises(RestliSyntaxError):
        QueryParams.parse("ids=1&ids=2")


def test_protocol_v1_is_literal() -> None:
    params = QueryParams.parse("ids=List(1,2)", protocol_v2=False)
    assert params.value("ids") == "List(1,2)"
