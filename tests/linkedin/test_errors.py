"""`map_error`: LinkedIn's error responses, as documented and observed, to typed errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from app.core.errors import (
    ApiVersionError,
    NotFoundError,
    ReconnectRequiredError,
    UpstreamError,
    UpstreamPermissionError,
    UpstreamRejectedError,
)
from app.linkedin.errors import (
    LinkedInConflictError,
    LinkedInServerError,
    LinkedInThrottledError,
    ThrottleKind,
    map_error,
    next_utc_midnight,
    parse_body,
    retry_after_of,
)

NOW = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
TRACE = CIMultiDict({"X-LI-UUID": "AAYBmd3Jx1Z8QzW9", "x-li-fabric": "prod-lor1"})


def test_401_names_resource() -> None:
    body = {
        "serviceErrorCode": 65600,
        "message": "Invalid access token",
        "status": 401,
        "code": "INVALID_ACCESS_TOKEN",
    }
    error = map_error("list_ad_accounts", "/adAccounts", 401, TRACE, body)
    assert isinstance(error, ReconnectRequiredError)
    assert error.message == "LinkedIn Ads /adAccounts returned 401"
    assert error.upstream is not None
    assert error.upstream.status == 401
    assert error.upstream.service_error_code == 65600
    assert error.upstream.code == "INVALID_ACCESS_TOKEN"
    assert error.upstream.request_id == "AAYBmd3Jx1Z8QzW9"
    assert error.upstream.message == "Invalid access token"


def test_401_on_nested_path() -> None:
    error = map_error("get_campaign_group", "/adAccounts/5/adCampaignGroups/7", 401, {}, None)
    assert error.message == "LinkedIn Ads /adAccounts returned 401"


def test_short_throttle() -> None:
    body = {
        "serviceErrorCode": 101,
        "status": 429,
        "message": "Resource level throttle limit for calls to this resource is reached.",
    }
    error = map_error(
        "create_campaign_group", "/adAccounts/5/adCampaignGroups", 429, TRACE, body, now=NOW
    )
    assert isinstance(error, LinkedInThrottledError)
    assert error.kind is ThrottleKind.SHORT
    assert error.message == (
        "LinkedIn Ads create_campaign_group: 429 — Resource level throttle limit for calls to "
        "this resource is reached."
    )
    assert error.upstream is not None
    assert error.upstream.service_error_code == 101
    assert error.retryable


def test_daily_quota() -> None:
    body = {
        "serviceErrorCode": 101,
        "status": 429,
        "message": (
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        ),
    }
    error = map_error(
        "list_campaign_groups", "/adAccounts/5/adCampaignGroups", 429, {}, body, now=NOW
    )
    assert isinstance(error, LinkedInThrottledError)
    assert error.kind is ThrottleKind.DAILY
    assert error.reason == "linkedin_daily_quota"
    assert error.retry_after_seconds == (next_utc_midnight(NOW) - NOW).total_seconds()
    assert next_utc_midnight(NOW) == datetime(2026, 3, 11, tzinfo=UTC)


def test_analytics_volume_throttle() -> None:
    body = {
        "status": 429,
        "serviceErrorCode": 101,
        "message": (
            "Analytics data throttle limit reached: requests may return at most 45 million metric "
            "values (fields x rows) per 5 minutes."
        ),
    }
    error = map_error("pull_analytics", "/adAnalytics", 429, {"retry-after": "2"}, body, now=NOW)
    assert isinstance(error, LinkedInThrottledError)
    assert error.kind is ThrottleKind.ANALYTICS_VOLUME
    assert error.retry_after_seconds == 300


def test_426_inactive_version() -> None:
    body = {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 20240201 is not active",
    }
    error = map_error("list_ad_accounts", "/adAccounts", 426, {}, body)
    assert isinstance(error, ApiVersionError)
    assert not error.retryable
    assert "Requested version 20240201 is not active" in error.message
    assert "LINKEDIN_ADS_API_VERSION" in error.message


def test_405_message() -> None:
    error = map_error(
        "update_campaign_group",
        "/adAccounts/5/adCampaignGroups/7",
        405,
        {},
        {"message": "Method PATCH is not allowed on this resource", "status": 405},
    )
    assert isinstance(error, UpstreamError)
    assert "405 Method Not Allowed" in error.message
    assert "patch.$set" in error.message


def test_register_upload_owner_hint() -> None:
    body = {"status": 400, "message": "owner is empty"}
    error = map_error("register_upload", "/assets", 400, {}, body)
    assert isinstance(error, UpstreamRejectedError)
    assert "urn:li:organization:1234" in error.message
    assert "register_upload adapter operation directly with the full body" in error.message


def test_validation_field_errors() -> None:
    body = {
        "status": 400,
        "code": "MULTIPLE_VALIDATIONS_FAILED",
        "message": "2 validations failed",
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "errorDetails": {
            "inputErrors": [
                {
                    "code": "MISSING_FIELD",
                    "description": "is required",
                    "input": {"inputPath": {"fieldPath": "/runSchedule/start"}},
                },
                {
                    "code": "CURRENCY_MISMATCH",
                    "description": "EUR is not USD",
                    "input": {"inputPath": {"fieldPath": "/totalBudget/currencyCode"}},
                },
            ],
        },
    }
    error = map_error("create_campaign_group", "/adAccounts/5/adCampaignGroups", 400, {}, body)
    assert isinstance(error, UpstreamRejectedError)
    assert error.upstream is not None
    assert error.upstream.code == "MULTIPLE_VALIDATIONS_FAILED"
    assert [item.field for item in error.fields] == [
        "/runSchedule/start",
        "/totalBudget/currencyCode",
    ]
    assert error.fields[0].message == "MISSING_FIELD: is required"


def test_schema_error_fields() -> None:
    body = {
        "message": 'ERROR :: /objectiveType :: "WEBSITE_CONVERSIONS" is not an enum symbol.',
        "status": 422,
    }
    error = map_error("create_campaign", "/adAccounts/5/adCampaigns", 422, {}, body)
    assert isinstance(error, UpstreamRejectedError)
    assert error.fields[0].field == "/objectiveType"
    assert error.fields[0].message == '"WEBSITE_CONVERSIONS" is not an enum symbol.'


def test_delete_non_draft_hint() -> None:
    body = {
        "status": 400,
        "code": "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS",
        "message": "Only DRAFT campaign groups can be deleted",
    }
    error = map_error("delete_campaign_group", "/adAccounts/5/adCampaignGroups/7", 400, {}, body)
    assert isinstance(error, UpstreamRejectedError)
    assert "PENDING_DELETION" in error.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (403, UpstreamPermissionError),
        (404, NotFoundError),
        (409, LinkedInConflictError),
        (500, LinkedInServerError),
        (503, LinkedInServerError),
        (504, LinkedInServerError),
    ],
)
def test_status_table(status: int, kind: type) -> None:
    body = {"status": status, "serviceErrorCode": 100, "code": "X", "message": "m"}
    error = map_error("op", "/adAccounts", status, TRACE, body)
    assert type(error) is kind
    assert error.upstream is not None
    assert error.upstream.request_id == "AAYBmd3Jx1Z8QzW9"
    assert error.operation == "op"


def test_retry_after_forms() -> None:
    assert retry_after_of({"retry-after": "7"}) == 7
    assert retry_after_of({"retry-after": "Tue, 10 Mar 2026 17:30:30 GMT"}, NOW) == 30
    assert retry_after_of({"retry-after": "soon"}) is None
    assert retry_after_of({}) is None


def test_parse_body_non_json() -> None:
    assert parse_body(b"") is None
    assert parse_body(b'{"a": 1}') == {"a": 1}
    assert parse_body(b"<html>Bad Gateway</html>") == {"message": "<html>Bad Gateway</html>"}
