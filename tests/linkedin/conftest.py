"""A `LinkedInClient` on the sandbox over real HTTP, and a token for the sandbox's member."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.settings import Settings
from app.linkedin.client import LinkedInClient
from app.linkedin.transport import create_http_client
from tests.servers import ThreadedServer

MEMBER = "sandbox-member-1"


def client_settings(base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "linkedin_ads_environment": "test",
        "linkedin_ads_api_base_url": base_url + "/rest",
        "linkedin_ads_oauth_base_url": base_url + "/oauth/v2",
        "linkedin_ads_api_version": "202601",
        "linkedin_ads_max_retries": 3,
        "linkedin_ads_retry_max_wait_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(sandbox_server: ThreadedServer) -> Settings:
    return client_settings(sandbox_server.url)


@pytest.fixture
async def linkedin(settings: Settings, sandbox: httpx.AsyncClient) -> AsyncIterator[LinkedInClient]:
    http = create_http_client(settings)
    yield LinkedInClient(http=http, settings=settings)
    await http.aclose()


@pytest.fixture
async def token(sandbox: httpx.AsyncClient) -> str:
    response = await sandbox.post("/_sandbox/tokens", json={"member": MEMBER})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def account_id(linkedin: LinkedInClient, token: str, sandbox: httpx.AsyncClient) -> int:
    """The first USD ad account of the sandbox's member; the request log is emptied after."""
    elements = await linkedin.find_all(
        "list_ad_accounts", "/adAccounts", token=token, scope="member", params={"q": "search"}
    )
    await sandbox.delete("/_sandbox/requests")
    return next(int(item["id"]) for item in elements if item["currency"] == "USD")
