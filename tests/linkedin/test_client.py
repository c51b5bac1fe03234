"""`LinkedInClient` against the sandbox over real HTTP: methods, paging, tunnelling, retries."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.core.errors import (
    ApiVersionError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ReconnectRequiredError,
    UpstreamRejectedError,
)
from app.core.settings import Settings
from app.linkedin.client import LinkedInClient, account_path, key_path
from app.linkedin.errors import (
    LinkedInServerError,
    LinkedInThrottledError,
    LinkedInTransportError,
    ThrottleKind,
)
from app.linkedin.restli import campaign_groups_search, creatives_criteria, encode_query
from app.linkedin.transport import create_http_client
from app.ratelimit.limiter import RateLimiter
from tests.linkedin.conftest import client_settings
from tests.linkedin.test_transport import free_port
from tests.servers import ThreadedServer

HOUR_MS = 3_600_000


def group_body(account_id: int, name: str, status: str = "DRAFT") -> dict[str, Any]:
    start = int(time.time() * 1000) + HOUR_MS
    return {
        "account": f"urn:li:sponsoredAccount:{account_id}",
        "name": name,
        "runSchedule": {"start": start, "end": start + 30 * 24 * HOUR_MS},
        "status": status,
        "totalBudget": {"amount": "5000.00", "currencyCode": "USD"},
    }


async def requests_log(
    sandbox: httpx.AsyncClient, path_prefix: str = "/rest"
) -> list[dict[str, Any]]:
    response = await sandbox.get("/_sandbox/requests", params={"path_prefix": path_prefix})
    return list(response.json()["requests"])


async def add_fault(sandbox: httpx.AsyncClient, rule: dict[str, Any]) -> None:
    response = await sandbox.post("/_sandbox/faults", json=rule)
    assert response.status_code == 200, response.text


def retries_counted(operation: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "linkedin_ads_upstream_retries_total", {"operation": operation, "reason": reason}
    )
    return value or 0.0


async def create_group(
    linkedin: LinkedInClient, token: str, account_id: int, name: str, **kwargs: Any
) -> str:
    return await linkedin.create(
        "create_campaign_group",
        account_path(account_id, "adCampaignGroups"),
        group_body(account_id, name),
        token=token,
        scope=str(account_id),
        idempotency_key=f"key-{name}",
        **kwargs,
    )


async def groups_named(
    linkedin: LinkedInClient, token: str, account_id: int, name: str
) -> list[dict[str, Any]]:
    return await linkedin.find_all(
        "find_campaign_group",
        account_path(account_id, "adCampaignGroups"),
        token=token,
        scope=str(account_id),
        params=campaign_groups_search(names=[name]),
    )


# ---- encoding on the wire ------------------------------------------------------------------


async def test_query_arrives_verbatim(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    params = {
        **campaign_groups_search(
            ids=[f"urn:li:sponsoredCampaignGroup:{n}" for n in (1, 2)], names=["Q3, (EU) it's"]
        ),
        "fields": ["id", "name"],
    }
    await linkedin.find_all(
        "list_campaign_groups",
        account_path(account_id, "adCampaignGroups"),
        token=token,
        scope=str(account_id),
        params=params,
        page_size=50,
    )
    seen = (await requests_log(sandbox))[-1]
    assert seen["query"] == encode_query({**params, "pageSize": 50})
    assert "search=(id:(values:List(urn%3Ali%3AsponsoredCampaignGroup%3A1," in seen["query"]
    assert "name:(values:List(Q3%2C%20%28EU%29%20it%27s))" in seen["query"]
    assert seen["headers"]["linkedin-version"] == "202601"
    assert seen["headers"]["x-restli-protocol-version"] == "2.0.0"
    assert seen["headers"]["x-restli-method"] == "FINDER"


async def test_urn_key_in_path(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    path = account_path(account_id, "creatives", "urn:li:sponsoredCreative:120491345")
    with pytest.raises(NotFoundError):
        await linkedin.get("get_creative", path, token=token, scope=str(account_id))
    seen = (await requests_log(sandbox))[-1]
    assert seen["path"] == (
        f"/rest/adAccounts/{account_id}/creatives/urn%3Ali%3AsponsoredCreative%3A120491345"
    )


async def test_long_query_tunnelled(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    ids = [f"urn:li:sponsoredCampaignGroup:{600000000 + n}" for n in range(150)]
    params = campaign_groups_search(ids=ids)
    query = encode_query({**params, "pageSize": 100})
    assert len(query) > 4000
    elements = await linkedin.find_all(
        "list_campaign_groups",
        account_path(account_id, "adCampaignGroups"),
        token=token,
        scope=str(account_id),
        params=params,
    )
    assert elements == []
    seen = (await requests_log(sandbox))[-1]
    assert seen["method"] == "POST"
    assert seen["query"] == ""
    assert seen["headers"]["x-http-method-override"] == "GET"
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert seen["tunnelled_query"] == query
    assert seen["status"] == 200


async def test_414_not_retried(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    long_key = "x" * 5000
    with pytest.raises(InvalidInputError) as caught:
        await linkedin.get(
            "get_creative",
            account_path(account_id, "creatives", long_key),
            token=token,
            scope=str(account_id),
        )
    assert caught.value.upstream is not None
    assert caught.value.upstream.status == 414
    assert len(await requests_log(sandbox)) == 1


# ---- Rest.li methods -----------------------------------------------------------------------


async def test_create_get_update_delete(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    scope = str(account_id)
    group_id = await create_group(linkedin, token, account_id, "Methods")
    assert group_id.isdigit()
    path = account_path(account_id, "adCampaignGroups", int(group_id))

    created = await linkedin.get("get_campaign_group", path, token=token, scope=scope)
    assert created["name"] == "Methods"
    assert created["totalBudget"] == {"amount": "5000.00", "currencyCode": "USD"}

    await linkedin.partial_update(
        "update_campaign_group",
        path,
        {"name": "Renamed"},
        token=token,
        scope=scope,
        idempotency_key="k1",
    )
    batch = await linkedin.batch_partial_update(
        "update_campaign_group",
        account_path(account_id, "adCampaignGroups"),
        {int(group_id): {"name": "Batch renamed"}, 999: {"name": "missing"}},
        token=token,
        scope=scope,
        idempotency_key="k2",
    )
    assert batch.results[group_id] == {"status": 204}
    assert isinstance(batch.errors["999"], NotFoundError)

    renamed = await linkedin.get("get_campaign_group", path, token=token, scope=scope)
    assert renamed["name"] == "Batch renamed"
    assert renamed["version"]["versionTag"] == "3"

    log = await requests_log(sandbox)
    methods = [(entry["method"], entry["headers"].get("x-restli-method")) for entry in log]
    assert methods == [
        ("POST", "CREATE"),
        ("GET", "GET"),
        ("POST", "PARTIAL_UPDATE"),
        ("POST", "BATCH_PARTIAL_UPDATE"),
        ("GET", "GET"),
    ]
    assert log[0]["headers"]["idempotency-key"] == "key-Methods"
    assert log[2]["body"] == {"patch": {"$set": {"name": "Renamed"}}}
    assert log[3]["query"] == f"ids=List({group_id},999)"
    assert log[3]["body"] == {
        "entities": {
            group_id: {"patch": {"$set": {"name": "Batch renamed"}}},
            "999": {"patch": {"$set": {"name": "missing"}}},
        }
    }

    await linkedin.delete(
        "delete_campaign_group", path, token=token, scope=scope, idempotency_key="k3"
    )
    with pytest.raises(NotFoundError):
        await linkedin.get("get_campaign_group", path, token=token, scope=scope)


async def test_idempotency_key_ignored(
    linkedin: LinkedInClient, token: str, account_id: int
) -> None:
    # LinkedIn does not deduplicate on Idempotency-Key, so the service must.
    first = await create_group(linkedin, token, account_id, "Twice")
    second = await create_group(linkedin, token, account_id, "Twice")
    assert first != second
    assert len(await groups_named(linkedin, token, account_id, "Twice")) == 2


async def test_delete_only_drafts(linkedin: LinkedInClient, token: str, account_id: int) -> None:
    scope = str(account_id)
    group_id = await linkedin.create(
        "create_campaign_group",
        account_path(account_id, "adCampaignGroups"),
        group_body(account_id, "Running", status="ACTIVE"),
        token=token,
        scope=scope,
        idempotency_key="k",
    )
    path = account_path(account_id, "adCampaignGroups", int(group_id))
    with pytest.raises(UpstreamRejectedError) as caught:
        await linkedin.delete(
            "delete_campaign_group", path, token=token, scope=scope, idempotency_key="k2"
        )
    assert caught.value.upstream is not None
    assert caught.value.upstream.code == "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS"
    assert "PENDING_DELETION" in caught.value.message


async def test_batch_get_item_errors(linkedin: LinkedInClient, token: str, account_id: int) -> None:
    group_id = await create_group(linkedin, token, account_id, "Batch")
    batch = await linkedin.batch_get(
        "get_campaign_groups",
        account_path(account_id, "adCampaignGroups"),
        [int(group_id), 1],
        token=token,
        scope=str(account_id),
    )
    assert batch.get(group_id)["name"] == "Batch"
    assert batch.statuses["1"] == 404
    assert isinstance(batch.errors["1"], NotFoundError)
    assert batch.errors["1"].upstream is not None
    assert batch.errors["1"].upstream.status == 404
    with pytest.raises(NotFoundError):
        batch.get(1)


async def test_cursor_paging(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    for n in range(3):
        await create_group(linkedin, token, account_id, f"Page {n}")
    pages = [
        page
        async for page in linkedin.iterate_pages(
            "list_campaign_groups",
            account_path(account_id, "adCampaignGroups"),
            token=token,
            scope=str(account_id),
            params=campaign_groups_search(),
            page_size=2,
        )
    ]
    assert [len(page) for page in pages] == [2, 2]
    names = [item["name"] for page in pages for item in page]
    assert names == ["Default Campaign Group", "Page 0", "Page 1", "Page 2"]
    queries = [entry["query"] for entry in await requests_log(sandbox)][-2:]
    assert queries[0].endswith("pageSize=2")
    assert "&pageToken=" in queries[1]


async def test_index_paging(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str
) -> None:
    everything = await linkedin.find_all(
        "list_account_users",
        "/adAccountUsers",
        token=token,
        scope="member",
        params={"q": "authenticatedUser"},
        page_size=1000,
        paging="index",
    )
    pages = [
        page
        async for page in linkedin.iterate_pages(
            "list_account_users",
            "/adAccountUsers",
            token=token,
            scope="member",
            params={"q": "authenticatedUser"},
            page_size=1,
            paging="index",
        )
    ]
    assert len(everything) >= 2
    assert [item for page in pages for item in page] == everything
    queries = [entry["query"] for entry in await requests_log(sandbox)]
    assert queries[-1] == f"q=authenticatedUser&start={len(everything) - 1}&count=1"


async def test_action_and_urn_key(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    account = await linkedin.get(
        "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
    )
    value = await linkedin.action(
        "initialize_image_upload",
        "/images",
        "initializeUpload",
        {"initializeUploadRequest": {"owner": account["reference"]}},
        token=token,
        scope=str(account_id),
    )
    image_urn = value["image"]
    assert image_urn.startswith("urn:li:image:")
    assert value["uploadUrl"].startswith("http")

    image = await linkedin.get(
        "get_image", key_path("images", image_urn), token=token, scope=str(account_id)
    )
    assert image["status"] == "WAITING_UPLOAD"
    log = await requests_log(sandbox)
    assert log[-2]["method"] == "POST"
    assert log[-2]["query"] == "action=initializeUpload"
    assert log[-2]["headers"]["x-restli-method"] == "ACTION"
    assert log[-1]["path"] == "/rest/images/" + image_urn.replace(":", "%3A")


async def test_upload_owner_hint(linkedin: LinkedInClient, token: str) -> None:
    with pytest.raises(UpstreamRejectedError) as caught:
        await linkedin.action(
            "register_upload",
            "/assets",
            "registerUpload",
            {
                "registerUploadRequest": {
                    "owner": "",
                    "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
                }
            },
            token=token,
            scope="member",
        )
    assert caught.value.upstream is not None
    assert caught.value.upstream.status == 400
    assert "asset_id" in caught.value.message


# ---- errors and retries --------------------------------------------------------------------


async def test_bad_token_401(linkedin: LinkedInClient, sandbox: httpx.AsyncClient) -> None:
    with pytest.raises(ReconnectRequiredError) as caught:
        await linkedin.find_all(
            "list_ad_accounts",
            "/adAccounts",
            token="not-a-token",
            scope="member",
            params={"q": "search"},
        )
    assert str(caught.value) == "LinkedIn Ads /adAccounts returned 401"
    assert caught.value.upstream is not None
    assert caught.value.upstream.service_error_code == 65600
    assert caught.value.upstream.request_id
    assert len(await requests_log(sandbox)) == 1


async def test_5xx_retried(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox,
        {"match": {"method": "GET", "path_regex": r"/adAccounts/\d+$", "times": 2}, "status": 503},
    )
    before = retries_counted("get_ad_account", "server_error")
    account = await linkedin.get(
        "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
    )
    assert account["id"] == account_id
    assert retries_counted("get_ad_account", "server_error") - before == 2
    assert [entry["status"] for entry in await requests_log(sandbox, "/rest/adAccounts/")] == [
        503,
        503,
        200,
    ]


async def test_5xx_gives_up(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(sandbox, {"match": {"path_regex": r"/adAccounts/\d+$"}, "status": 500})
    with pytest.raises(LinkedInServerError) as caught:
        await linkedin.get(
            "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
        )
    assert caught.value.upstream is not None
    assert caught.value.upstream.status == 500
    assert caught.value.upstream.request_id
    assert len(await requests_log(sandbox, "/rest/adAccounts/")) == 4


async def test_short_throttle_retried(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox,
        {"match": {"path_regex": r"/adAccounts/\d+$", "times": 1}, "throttle": {"kind": "short"}},
    )
    before = retries_counted("get_ad_account", "throttled")
    await linkedin.get(
        "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
    )
    assert retries_counted("get_ad_account", "throttled") - before == 1


async def test_daily_quota_parks(
    sandbox: httpx.AsyncClient,
    sandbox_server: ThreadedServer,
    redis: Redis,
    token: str,
    account_id: int,
) -> None:
    settings = client_settings(
        sandbox_server.url,
        redis_url="redis://unused:6379/0",
        linkedin_ads_rate_limit_tier="standard",
    )
    http = create_http_client(settings)
    limiter = RateLimiter(redis, settings)
    linkedin = LinkedInClient(http=http, settings=settings, limiter=limiter)
    await add_fault(
        sandbox, {"match": {"path_regex": "adCampaignGroups"}, "throttle": {"kind": "daily"}}
    )
    path = account_path(account_id, "adCampaignGroups")
    try:
        with pytest.raises(LinkedInThrottledError) as caught:
            await linkedin.create(
                "create_campaign_group",
                path,
                group_body(account_id, "Quota"),
                token=token,
                scope=str(account_id),
                idempotency_key="k",
            )
        assert caught.value.kind is ThrottleKind.DAILY
        assert caught.value.message.startswith("LinkedIn Ads create_campaign_group: 429 — ")
        assert "DAY limit" in caught.value.message
        seconds_to_midnight = 86400 - time.time() % 86400
        assert caught.value.retry_after_seconds is not None
        assert abs(caught.value.retry_after_seconds - seconds_to_midnight) < 5
        assert len(await requests_log(sandbox)) == 1

        # The account is parked: the next call is refused before it reaches LinkedIn.
        with pytest.raises(QuotaExceededError) as parked:
            await linkedin.get(
                "get_campaign_group", path + "/1", token=token, scope=str(account_id)
            )
        assert parked.value.reason == "daily_quota"
        assert len(await requests_log(sandbox)) == 1
    finally:
        await http.aclose()


async def test_analytics_volume_not_retried(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str
) -> None:
    await add_fault(
        sandbox, {"match": {"path_regex": "adAnalytics"}, "throttle": {"kind": "analytics_volume"}}
    )
    started = time.monotonic()
    with pytest.raises(LinkedInThrottledError) as caught:
        await linkedin.get(
            "pull_analytics",
            "/adAnalytics",
            token=token,
            scope="member",
            params={"q": "analytics", "pivot": "CAMPAIGN"},
        )
    assert time.monotonic() - started < 2
    assert caught.value.kind is ThrottleKind.ANALYTICS_VOLUME
    assert caught.value.retry_after_seconds is not None
    assert caught.value.retry_after_seconds >= 300
    assert len(await requests_log(sandbox)) == 1


async def test_sunset_version(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(sandbox, {"match": {"times": 1}, "sunset_version": True})
    with pytest.raises(ApiVersionError) as caught:
        await linkedin.get(
            "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
        )
    assert "Requested version 20260101 is not active" in caught.value.message
    assert "LINKEDIN_ADS_API_VERSION" in caught.value.message
    assert not caught.value.retryable
    assert linkedin.version_health.inactive
    assert len(await requests_log(sandbox)) == 1

    await linkedin.get(
        "get_ad_account", f"/adAccounts/{account_id}", token=token, scope=str(account_id)
    )
    assert not linkedin.version_health.inactive


# ---- creates whose outcome is unknown ------------------------------------------------------


async def test_drop_after_commit_found(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox,
        {
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "after_commit"},
        },
    )
    lookups: list[str | None] = []

    async def find_existing() -> str | None:
        found = await groups_named(linkedin, token, account_id, "Dropped")
        lookups.append(str(found[0]["id"]) if found else None)
        return lookups[-1]

    group_id = await create_group(
        linkedin, token, account_id, "Dropped", find_existing=find_existing
    )
    assert lookups == [group_id]
    assert [item["id"] for item in await groups_named(linkedin, token, account_id, "Dropped")] == [
        int(group_id)
    ]
    posts = [entry for entry in await requests_log(sandbox) if entry["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0]["dropped"] is True


async def test_drop_before_commit_resent(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox,
        {
            "match": {"method": "POST", "path_regex": "adCampaignGroups$", "times": 1},
            "drop": {"when": "before_commit"},
        },
    )

    async def find_existing() -> str | None:
        found = await groups_named(linkedin, token, account_id, "Lost")
        return str(found[0]["id"]) if found else None

    group_id = await create_group(linkedin, token, account_id, "Lost", find_existing=find_existing)
    assert [item["id"] for item in await groups_named(linkedin, token, account_id, "Lost")] == [
        int(group_id)
    ]
    posts = [entry for entry in await requests_log(sandbox) if entry["method"] == "POST"]
    assert len(posts) == 2


async def test_drop_without_finder_raises(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox,
        {
            "match": {"method": "POST", "path_regex": "adCampaignGroups$"},
            "drop": {"when": "after_commit"},
        },
    )
    with pytest.raises(LinkedInTransportError) as caught:
        await create_group(linkedin, token, account_id, "Unknown")
    assert caught.value.sent
    posts = [entry for entry in await requests_log(sandbox) if entry["method"] == "POST"]
    assert len(posts) == 1


async def test_create_5xx_not_resent(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    await add_fault(
        sandbox, {"match": {"method": "POST", "path_regex": "adCampaignGroups$"}, "status": 504}
    )
    with pytest.raises(LinkedInServerError) as caught:
        await create_group(linkedin, token, account_id, "Gateway")
    assert caught.value.sent
    posts = [entry for entry in await requests_log(sandbox) if entry["method"] == "POST"]
    assert len(posts) == 1


async def test_refused_create_retried(settings: Settings) -> None:
    closed = client_settings(f"http://127.0.0.1:{free_port()}", linkedin_ads_max_retries=2)
    http = create_http_client(closed)
    linkedin = LinkedInClient(http=http, settings=closed)
    before = retries_counted("create_campaign_group", "connection")
    try:
        with pytest.raises(LinkedInTransportError) as caught:
            await linkedin.create(
                "create_campaign_group",
                "/adAccounts/1/adCampaignGroups",
                {"name": "x"},
                token="t",
                scope="1",
                idempotency_key="k",
            )
    finally:
        await http.aclose()
    assert not caught.value.sent
    assert retries_counted("create_campaign_group", "connection") - before == 2


async def test_creatives_finder(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    params = creatives_criteria(
        campaigns=["urn:li:sponsoredCampaign:1"], intended_statuses=["ACTIVE", "PAUSED"]
    )
    elements = await linkedin.find_all(
        "list_creatives",
        account_path(account_id, "creatives"),
        token=token,
        scope=str(account_id),
        params=params,
    )
    assert elements == []
    seen = (await requests_log(sandbox))[-1]
    assert seen["headers"]["x-restli-method"] == "FINDER"
    assert seen["query"] == (
        "q=criteria&campaigns=List(urn%3Ali%3AsponsoredCampaign%3A1)"
        "&intendedStatuses=List(ACTIVE,PAUSED)&sortOrder=ASCENDING&pageSize=100"
    )


async def test_long_batch_update_multipart(
    linkedin: LinkedInClient, sandbox: httpx.AsyncClient, token: str, account_id: int
) -> None:
    group_id = await create_group(linkedin, token, account_id, "Many")
    changes: dict[str | int, dict[str, Any]] = {int(group_id): {"name": "Many renamed"}}
    changes.update({900_000_000 + n: {"name": "missing"} for n in range(450)})
    result = await linkedin.batch_partial_update(
        "update_campaign_groups",
        account_path(account_id, "adCampaignGroups"),
        changes,
        token=token,
        scope=str(account_id),
        idempotency_key="many",
    )
    assert result.results[group_id] == {"status": 204}
    assert len(result.errors) == 450
    seen = (await requests_log(sandbox))[-1]
    assert seen["query"] == ""
    assert seen["headers"]["x-http-method-override"] == "POST"
    assert seen["headers"]["content-type"].startswith("multipart/mixed; boundary=")
    assert seen["tunnelled_query"].startswith(f"ids=List({group_id},900000000,")
    assert seen["body"]["entities"][group_id] == {"patch": {"$set": {"name": "Many renamed"}}}
    renamed = await groups_named(linkedin, token, account_id, "Many renamed")
    assert len(renamed) == 1
