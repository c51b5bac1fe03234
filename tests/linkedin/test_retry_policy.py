"""The retry policy as pure functions: which responses are retried, and how long to wait.

The sandbox sends no Retry-After (LinkedIn documents none), so the header cases build the error
with `map_error` directly instead of going through HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.linkedin.client import LinkedInClient
from app.linkedin.errors import LinkedInTransportError, map_error
from tests.linkedin.conftest import client_settings

SHORT = {
    "status": 429,
    "message": "Resource level throttle limit for calls to this resource is reached.",
}
DAILY = {
    "status": 429,
    "message": (
        "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
    ),
}


@pytest.fixture
async def linkedin() -> Any:
    settings = client_settings("http://127.0.0.1:1", linkedin_ads_retry_max_wait_seconds=10)
    async with httpx.AsyncClient() as http:
        yield LinkedInClient(http=http, settings=settings)


def error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return map_error("op", "/adAccounts", status, headers or {}, body)


def test_full_jitter_backoff(linkedin: LinkedInClient) -> None:
    failure = error(503, {"message": "Service Unavailable"})
    for retry_number, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 10.0), (9, 10.0)):
        delays = [linkedin.retry_delay(failure, retry_number) for _ in range(200)]
        assert min(delays) >= 0
        assert max(delays) <= ceiling
        assert max(delays) > ceiling / 2


def test_retry_after_honoured(linkedin: LinkedInClient) -> None:
    throttled = error(429, SHORT, {"retry-after": "3"})
    assert linkedin.retry_delay(throttled, 1) == 3
    assert linkedin.should_retry(throttled, write=False)
    unavailable = error(503, {"message": "down"}, {"retry-after": "4"})
    assert linkedin.retry_delay(unavailable, 2) == 4


def test_long_retry_after_not_waited(linkedin: LinkedInClient) -> None:
    throttled = error(429, SHORT, {"retry-after": "120"})
    assert not linkedin.should_retry(throttled, write=False)
    assert throttled.retry_after_seconds == 120
    assert linkedin.retry_delay(throttled, 1) == 10


@pytest.mark.parametrize(
    ("status", "body", "write", "retried"),
    [
        (429, SHORT, False, True),
        (429, SHORT, True, True),
        (429, DAILY, False, False),
        (500, {"message": "x"}, False, True),
        (503, {"message": "x"}, True, False),
        (400, {"message": "x"}, False, False),
        (401, {"message": "x"}, False, False),
        (404, {"message": "x"}, False, False),
        (414, {"message": "x"}, False, False),
        (426, {"code": "NONEXISTENT_VERSION", "message": "x"}, False, False),
    ],
)
def test_retried_answers(
    linkedin: LinkedInClient, status: int, body: dict[str, Any], write: bool, retried: bool
) -> None:
    assert linkedin.should_retry(error(status, body), write) is retried


def test_network_failures(linkedin: LinkedInClient) -> None:
    never_sent = LinkedInTransportError("refused", sent=False)
    maybe_sent = LinkedInTransportError("reset", sent=True)
    assert linkedin.should_retry(never_sent, write=True)
    assert linkedin.should_retry(maybe_sent, write=False)
    assert not linkedin.should_retry(maybe_sent, write=True)
