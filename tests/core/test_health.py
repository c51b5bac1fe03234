"""`/health` and `/metrics` as operators see them."""

from datetime import date

from app.core.embedded import find_free_port
from app.core.health import check_api_version
from tests.conftest import Service, make_settings, running_service


async def test_health_ok(service: Service) -> None:
    response = await service.api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["checks"]["postgres"]["status"] == "up"
    assert body["checks"]["redis"]["status"] == "up"
    assert body["liveMode"] is False


async def test_health_names_postgres_down(redis_url: str, sandbox_server) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{find_free_port()}/nothing"
    async with running_service(make_settings(dead, redis_url, sandbox_server.url)) as service:
        response = await service.api.get("/health")
    assert response.status_code == 503
    assert response.json()["down"] == ["postgres"]
    assert response.json()["checks"]["redis"]["status"] == "up"


def test_old_version_warns(service_settings) -> None:
    class Client:
        class version_health:
            inactive = False
            message = None

    report = check_api_version(service_settings, Client(), today=date(2026, 12, 4))  # type: ignore[arg-type]
    assert report["status"] == "warning"
    assert "LINKEDIN_ADS_API_VERSION" in report["warning"]
    fresh = service_settings.model_copy(update={"linkedin_ads_api_version": "202611"})
    assert check_api_version(fresh, Client(), today=date(2026, 12, 4))["status"] == "ok"  # type: ignore[arg-type]


async def test_metrics_use_route_templates(service: Service) -> None:
    await service.api.get("/v1/ad-accounts/123/campaigns")
    await service.api.get("/v1/ad-accounts/456/campaigns")
    text = (await service.api.get("/metrics")).text
    assert 'route="/v1/ad-accounts/{account_id}/campaigns"' in text
    assert 'route="/v1/ad-accounts/123/campaigns"' not in text
    assert "linkedin_ads_http_request_duration_seconds_bucket" in text


async def test_request_id_is_echoed(service: Service) -> None:
    response = await service.api.get("/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await service.api.get("/v1/connections", headers={"Authorization": ""})
    assert len(generated.headers["x-request-id"]) == 32
    assert generated.json()["requestId"] == generated.headers["x-request-id"]


async def test_unknown_route_is_json_404(service: Service) -> None:
    response = await service.api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/v1/nothing-here" in response.json()["error"]["message"]
    wrong_method = await service.api.put("/v1/connections")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
