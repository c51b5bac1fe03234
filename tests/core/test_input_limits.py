"""Request bodies: size limits, malformed JSON and time zones never reach a 500."""

import json

from tests.conftest import Service

CAMPAIGN = {
    "name": "Zones",
    "startTime": "2031-01-10T00:00:00",
    "endTime": "2031-02-10T00:00:00Z",
    "lifetimeBudget": "100.00",
}


async def usd_account(service: Service) -> str:
    accounts = (await service.api.get("/v1/ad-accounts")).json()
    return next(a["id"] for a in accounts if a["currency"] == "USD" and a["status"] == "ACTIVE")


async def test_oversized_body_is_413_before_auth(service: Service) -> None:
    body = json.dumps({"name": "x" * (2 * 1024 * 1024)})
    response = await service.api.post(
        "/v1/ad-accounts/1/campaigns",
        content=body,
        headers={"Authorization": "", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_streamed_oversized_body_is_413(service: Service) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 65536

    response = await service.api.post(
        "/v1/ad-accounts/1/campaigns",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_mixed_time_zones_compare(service: Service) -> None:
    await service.connect()
    account = await usd_account(service)
    created = await service.api.post(f"/v1/ad-accounts/{account}/campaigns", json=CAMPAIGN)
    assert created.status_code == 201, created.text
    assert created.json()["startTime"].startswith("2031-01-10T00:00:00")
    backwards = dict(CAMPAIGN, startTime="2031-03-01T00:00:00Z", endTime="2031-02-10T00:00:00")
    rejected = await service.api.post(f"/v1/ad-accounts/{account}/campaigns", json=backwards)
    assert rejected.status_code == 422
    assert rejected.json()["error"]["code"] == "invalid_input"


async def test_invalid_json_names_body(service: Service) -> None:
    response = await service.api.post(
        "/v1/ad-accounts/1/campaigns",
        content=b'{"name": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert field["field"] == "body"
    assert field["message"].startswith("invalid JSON at character")


async def test_huge_event_cursor_is_422(service: Service) -> None:
    response = await service.api.get("/v1/events", params={"cursor": "9" * 30})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "cursor"


async def test_archived_is_not_a_create_status(service: Service) -> None:
    await service.connect()
    account = await usd_account(service)
    for status in ("ARCHIVED", "PENDING_DELETION"):
        body = dict(CAMPAIGN, status=status)
        response = await service.api.post(f"/v1/ad-accounts/{account}/campaigns", json=body)
        assert response.status_code == 422, status
        assert response.json()["error"]["fields"][0]["field"] == "status"


async def test_business_errors_use_wire_names(service: Service) -> None:
    await service.connect()
    account = await usd_account(service)
    past = dict(CAMPAIGN, startTime="2020-01-01T00:00:00Z")
    response = await service.api.post(f"/v1/ad-accounts/{account}/campaigns", json=past)
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["error"]["fields"]] == ["startTime"]


def test_error_codes_stay_in_logs() -> None:
    import logging

    from app.core.logging import JsonFormatter

    record = logging.makeLogRecord(
        {"msg": "linkedin.error", "code": "NOT_FOUND", "access_token": "AQU-secret"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["code"] == "NOT_FOUND"
    assert line["access_token"] == "***"


async def test_account_id_beyond_bigint_is_422(service: Service) -> None:
    huge = "9" * 23
    for path in (
        f"/v1/ad-accounts/{huge}/campaigns",
        f"/v1/ad-accounts/{huge}/analytics",
        f"/v1/ad-accounts/{huge}/experiments",
        f"/v1/ad-accounts/{huge}/quota",
    ):
        response = await service.api.get(path, params={"start": "2026-11-01", "end": "2026-11-02"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["fields"][0]["field"] == "path.accountId"
    events = await service.api.get("/v1/events", params={"ad_account_id": huge})
    assert events.status_code == 422


async def test_event_cursor_resumes_polling(service: Service) -> None:
    await service.connect()
    first = (await service.api.get("/v1/events")).json()
    assert first["items"][-1]["type"] == "connected"
    assert first["hasMore"] is False
    again = (await service.api.get("/v1/events", params={"cursor": first["nextCursor"]})).json()
    assert again["items"] == []
    assert again["nextCursor"] == first["nextCursor"]
