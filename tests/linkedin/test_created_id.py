"""Reading the new key from a CREATE response, including forms the sandbox does not send."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from app.linkedin.client import LinkedInResponse, created_id
from app.linkedin.errors import LinkedInServerError


def answer(headers: dict[str, str], body: object = None) -> LinkedInResponse:
    return LinkedInResponse(201, CIMultiDict(headers), body)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RestLi-Id": "604716214"}, "604716214"),
        (
            {"x-restli-id": "urn%3Ali%3AsponsoredCreative%3A120491345"},
            "urn:li:sponsoredCreative:120491345",
        ),
        ({"x-linkedin-id": "urn:li:sponsoredCreative:7"}, "urn:li:sponsoredCreative:7"),
        ({"Location": "/rest/adAccounts/5/adCampaignGroups/604716224"}, "604716224"),
        (
            {
                "Location": "https://api.linkedin.com/rest/adAccounts/5/creatives/"
                "urn%3Ali%3AsponsoredCreative%3A9/"
            },
            "urn:li:sponsoredCreative:9",
        ),
        ({"x-restli-id": "11", "x-linkedin-id": "22", "Location": "/x/33"}, "11"),
    ],
)
def test_created_id_headers(headers: dict[str, str], expected: str) -> None:
    assert created_id(answer(headers)) == expected


def test_created_id_action_body() -> None:
    body = {"value": {"id": "urn:li:sponsoredCreative:5"}}
    assert created_id(answer({}, body)) == "urn:li:sponsoredCreative:5"


def test_created_id_missing() -> None:
    with pytest.raises(LinkedInServerError, match="has no new id"):
        created_id(answer({"content-length": "0"}))
