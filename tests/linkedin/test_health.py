"""`/health` and the configured LinkedIn-Version: age warning and LinkedIn's 426 response."""

from __future__ import annotations

from datetime import date

import httpx

from app.core.health import check_api_version
from app.core.settings import Settings
from app.linkedin.client import LinkedInClient
from tests.conftest import Service
from tests.linkedin.conftest import client_settings


async def test_sunset_version_degrades(service: Service, sandbox: httpx.AsyncClient) -> None:
    await service.connect()
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    campaigns_url = f"/v1/ad-accounts/{accounts[0]['id']}/campaigns"

    healthy = (await service.api.get("/health")).json()
    assert healthy["status"] == "ok"
    version = healthy["checks"]["linkedinApiVersion"]
    assert version["version"] == "202402"
    assert version["status"] == "warning"
    assert "more than 12 months old" in version["warning"]

    await sandbox.delete("/_sandbox/requests")
    await sandbox.post(
        "/_sandbox/faults", json={"match": {"path_regex": "^/rest/"}, "sunset_version": True}
    )
    failed = await service.api.get(campaigns_url)
    assert failed.status_code == 502, failed.text
    error = failed.json()["error"]
    assert error["code"] == "api_version_not_active"
    assert error["retryable"] is False
    assert "LINKEDIN_ADS_API_VERSION" in error["message"]
    assert error["upstream"]["status"] == 426
    assert error["upstream"]["code"] == "NONEXISTENT_VERSION"
    assert error["upstream"]["message"] == "Requested version 20240201 is not active"
    log = (await sandbox.get("/_sandbox/requests", params={"path_prefix": "/rest"})).json()
    assert log["count"] == 1

    degraded = await service.api.get("/health")
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    assert degraded.json()["checks"]["linkedinApiVersion"]["status"] == "inactive"
    metrics = (await service.api.get("/metrics")).text
    assert "linkedin_ads_api_version_inactive 1.0" in metrics

    await sandbox.delete("/_sandbox/faults")
    assert (await service.api.get(campaigns_url)).status_code == 200
    assert (await service.api.get("/health")).json()["status"] == "ok"


async def test_recent_version_no_warning() -> None:
    settings: Settings = client_settings("http://127.0.0.1:1", linkedin_ads_api_version="202605")
    async with httpx.AsyncClient() as http:
        linkedin = LinkedInClient(http=http, settings=settings)
    report = check_api_version(settings, linkedin, today=date(2026, 12, 4))
    assert report == {"version": "202605", "ageDays": 217, "status": "ok"}
    stale = check_api_version(settings, linkedin, today=date(2027, 6, 2))
    assert stale["status"] == "warning"
