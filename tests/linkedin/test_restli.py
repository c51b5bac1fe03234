"""Golden strings for the Rest.li 2.0 encoder and every finder, key and parameter we send."""

from __future__ import annotations

from datetime import date

import pytest

from app.linkedin.client import account_path, key_path
from app.linkedin.restli import (
    Raw,
    ad_accounts_search,
    analytics_query,
    campaign_groups_search,
    campaigns_search,
    creatives_criteria,
    decode_header_key,
    encode_key,
    encode_query,
    encode_value,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("abc123", "abc123"),
        (123, "123"),
        (123.5, "123.5"),
        (True, "true"),
        (False, "false"),
        ([1, 2, "foobar"], "List(1,2,foobar)"),
        ([], "List()"),
        ({}, "()"),
        # The vectors of LinkedIn's own client tests.
        (
            {"k1": "v1", "k2": "urn:li:app:123", "k3": [1, 2], "k4": {"k41": "foobar"}},
            "(k1:v1,k2:urn%3Ali%3Aapp%3A123,k3:List(1,2),k4:(k41:foobar))",
        ),
        ([{"k1": "v1"}, ["v2", " t?':,*!"]], "List((k1:v1),List(v2,%20t%3F%27%3A%2C%2A%21))"),
        ("a&b+c", "a%26b%2Bc"),
        (date(2024, 1, 31), "(year:2024,month:1,day:31)"),
        (Raw("(value:CAMPAIGN)"), "(value:CAMPAIGN)"),
    ],
)
def test_encode_value(value: object, expected: str) -> None:
    assert encode_value(value) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ""),
        ({"param1": "foobar"}, "param1=foobar"),
        ({"param1": "v1", "param2": "v2"}, "param1=v1&param2=v2"),
        ({"pr op:1": " t?':,*!&+"}, "pr%20op%3A1=%20t%3F%27%3A%2C%2A%21%26%2B"),
        (
            {
                "param1": [{"k1": "v1"}, ["e1", "e2"]],
                "param2": {"k2": {"k21": "v21"}, "k3": ["v3"]},
            },
            "param1=List((k1:v1),List(e1,e2))&param2=(k2:(k21:v21),k3:List(v3))",
        ),
        ({"a": None, "b": 1}, "b=1"),
        ({"fields": ["id", "name"]}, "fields=id,name"),
        ({"fields": "impressions,clicks,pivotValues"}, "fields=impressions,clicks,pivotValues"),
    ],
)
def test_encode_query(params: dict[str, object], expected: str) -> None:
    assert encode_query(params) == expected


def test_ad_accounts_search() -> None:
    assert encode_query(ad_accounts_search()) == "q=search"
    by_id = ad_accounts_search(ids=["urn:li:sponsoredAccount:123"])
    assert encode_query(by_id) == (
        "q=search&search=(id:(values:List(urn%3Ali%3AsponsoredAccount%3A123)))"
    )
    by_status = ad_accounts_search(statuses=["ACTIVE"], test=False)
    assert encode_query(by_status) == "q=search&search=(status:(values:List(ACTIVE)),test:false)"


def test_campaign_groups_search() -> None:
    query = campaign_groups_search(statuses=["ACTIVE", "DRAFT"], sort_order="DESCENDING")
    assert encode_query(query) == (
        "q=search&search=(status:(values:List(ACTIVE,DRAFT)))&sortOrder=DESCENDING"
    )
    by_name = campaign_groups_search(names=["Q3 UA, (EU)"])
    assert encode_query(by_name) == (
        "q=search&search=(name:(values:List(Q3%20UA%2C%20%28EU%29)))&sortOrder=ASCENDING"
    )
    assert encode_query(campaign_groups_search()) == "q=search&sortOrder=ASCENDING"


def test_campaign_group_keys() -> None:
    assert account_path(512345678, "adCampaignGroups") == "/adAccounts/512345678/adCampaignGroups"
    assert account_path(512345678, "adCampaignGroups", 604716214) == (
        "/adAccounts/512345678/adCampaignGroups/604716214"
    )
    assert encode_query({"ids": [604716224, 604716214]}) == "ids=List(604716224,604716214)"


def test_campaigns_search() -> None:
    query = campaigns_search(
        campaign_groups=["urn:li:sponsoredCampaignGroup:456"], statuses=["ACTIVE", "PAUSED"]
    )
    assert encode_query(query) == (
        "q=search&search=(campaignGroup:(values:List(urn%3Ali%3AsponsoredCampaignGroup%3A456)),"
        "status:(values:List(ACTIVE,PAUSED)))&sortOrder=ASCENDING"
    )
    with pytest.raises(ValueError, match="at least one criterion"):
        campaigns_search()


def test_creatives_criteria() -> None:
    query = creatives_criteria(
        campaigns=["urn:li:sponsoredCampaign:1", "urn:li:sponsoredCampaign:2"],
        intended_statuses=["ACTIVE", "PAUSED"],
    )
    assert encode_query(query) == (
        "q=criteria&campaigns=List(urn%3Ali%3AsponsoredCampaign%3A1,"
        "urn%3Ali%3AsponsoredCampaign%3A2)&intendedStatuses=List(ACTIVE,PAUSED)"
        "&sortOrder=ASCENDING"
    )


def test_analytics_query() -> None:
    query = analytics_query(
        pivot="CAMPAIGN",
        time_granularity="DAILY",
        start=date(2024, 1, 1),
        end=date(2024, 1, 31),
        campaigns=["urn:li:sponsoredCampaign:123"],
        fields=["impressions", "clicks", "costInUsd", "dateRange", "pivotValues"],
    )
    assert encode_query(query) == (
        "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        "&dateRange=(start:(year:2024,month:1,day:1),end:(year:2024,month:1,day:31))"
        "&campaigns=List(urn%3Ali%3AsponsoredCampaign%3A123)"
        "&fields=impressions,clicks,costInUsd,dateRange,pivotValues"
    )


def test_analytics_query_limits() -> None:
    with pytest.raises(ValueError, match="at most 20"):
        analytics_query(
            pivot="CAMPAIGN",
            time_granularity="ALL",
            start=date(2024, 1, 1),
            accounts=["urn:li:sponsoredAccount:1"],
            fields=[f"metric{i}" for i in range(21)],
        )
    with pytest.raises(ValueError, match="facet"):
        analytics_query(pivot="CAMPAIGN", time_granularity="ALL", start=date(2024, 1, 1))
    open_ended = analytics_query(
        pivot="ACCOUNT",
        time_granularity="ALL",
        start=date(2024, 5, 2),
        accounts=["urn:li:sponsoredAccount:502840441"],
    )
    assert encode_query(open_ended) == (
        "q=analytics&pivot=ACCOUNT&timeGranularity=ALL&dateRange=(start:(year:2024,month:5,day:2))"
        "&accounts=List(urn%3Ali%3AsponsoredAccount%3A502840441)"
    )


def test_urn_path_keys() -> None:
    assert key_path("images", "urn:li:image:C4E10AQFoyyAjHPMQuQ") == (
        "/images/urn%3Ali%3Aimage%3AC4E10AQFoyyAjHPMQuQ"
    )
    assert key_path("videos", "urn:li:video:C5F10AQ") == "/videos/urn%3Ali%3Avideo%3AC5F10AQ"
    assert account_path(520866471, "creatives", "urn:li:sponsoredCreative:120491345") == (
        "/adAccounts/520866471/creatives/urn%3Ali%3AsponsoredCreative%3A120491345"
    )


def test_compound_key() -> None:
    key = {"account": "urn:li:sponsoredAccount:123", "user": "urn:li:person:abc"}
    assert encode_key(key) == (
        "(account:urn%3Ali%3AsponsoredAccount%3A123,user:urn%3Ali%3Aperson%3Aabc)"
    )
    assert encode_key(42) == "42"
    with pytest.raises(TypeError):
        encode_key(True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("urn:li:sponsoredCreative:123", "urn:li:sponsoredCreative:123"),
        ("urn%3Ali%3AsponsoredCreative%3A123", "urn:li:sponsoredCreative:123"),
        ("urn%3ali%3asponsoredCreative%3a123", "urn:li:sponsoredCreative:123"),
        ("%28a%2Cb%29", "(a,b)"),
        ("604716214", "604716214"),
        ("a%253Ab", "a%3Ab"),
    ],
)
def test_decode_header_key(header: str, expected: str) -> None:
    assert decode_header_key(header) == expected
