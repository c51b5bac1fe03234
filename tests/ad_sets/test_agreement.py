"""Property: the dry-run validator and the sandbox accept and reject the same ad sets.

The same generated DTO goes to two service apps on one database: one in dry-run mode (our
validator decides) and one in live mode (the sandbox decides, over HTTP). Hypothesis runs in a
worker thread and hands each request to the test's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ad_sets.helpers import US, account_with, ad_set_body, create_campaign
from tests.conftest import Service, running_service

SENIORITY = "urn:li:seniority:3"
TARGETING = {
    "location": {"include": {"locations": [US]}},
    "location and seniority": {"include": {"locations": [US], "seniorities": [SENIORITY]}},
    "no location": {"include": {"seniorities": [SENIORITY]}},
    "excluded seniority": {"include": {"locations": [US]}, "exclude": {"seniorities": [SENIORITY]}},
    "location both ways": {"include": {"locations": [US]}, "exclude": {"locations": [US]}},
    "profile location": {"include": {"profileLocations": [US]}},
    "location not a URN": {"include": {"locations": ["notaurn"]}},
}
# Starts well clear of both sides' allowance for clock skew (60 s here, 300 s in the sandbox).
START_OFFSETS = {
    "two days ago": timedelta(days=-2),
    "in an hour": timedelta(hours=1),
    "in three days": timedelta(days=3),
}


VALID = {
    "parent": "usd",
    "currency": "USD",
    "costType": "CPC",
    "bid": "7.50",
    "dailyBudget": "80",
    "lifetimeBudget": None,
    "start": "in an hour",
    "end": "after start",
    "locale": "en_US",
    "targeting": "location",
}
# Named changes to a valid ad set; each example applies up to three of them.
CHANGES: dict[str, dict[str, Any]] = {
    "EUR account, USD amounts": {"parent": "eur"},
    "USD account, EUR amounts": {"currency": "EUR"},
    "EUR account, EUR amounts": {"parent": "eur", "currency": "EUR"},
    "DRAFT campaign": {"parent": "usd-draft"},
    "zero daily budget": {"dailyBudget": "0"},
    "daily budget below minimum": {"dailyBudget": "9.99"},
    "daily budget at minimum": {"dailyBudget": "10"},
    "no budget": {"dailyBudget": None, "lifetimeBudget": None},
    "lifetime budget below minimum": {"dailyBudget": None, "lifetimeBudget": "99.99"},
    "lifetime budget at minimum": {"dailyBudget": None, "lifetimeBudget": "100"},
    "both budgets": {"lifetimeBudget": "2500"},
    "no bid": {"bid": None},
    "zero bid": {"bid": "0"},
    "bid below minimum": {"bid": "1.99"},
    "bid at minimum": {"bid": "2"},
    "CPM": {"costType": "CPM"},
    "CPV": {"costType": "CPV"},
    "start in the past": {"start": "two days ago"},
    "start later": {"start": "in three days"},
    "end before start": {"end": "before start"},
    "no end": {"end": None},
    "German locale": {"locale": "de_DE"},
    "unknown locale": {"locale": "xx_XX"},
    **{f"targeting: {name}": {"targeting": name} for name in TARGETING if name != "location"},
}

ad_sets = st.fixed_dictionaries(
    {
        "changes": st.lists(st.sampled_from(sorted(CHANGES)), max_size=3, unique=True),
        "type": st.sampled_from(["SPONSORED_UPDATES", "TEXT_AD"]),
        "format": st.sampled_from([None, "STANDARD_UPDATE", "SINGLE_VIDEO"]),
        "objective": st.sampled_from([None, "WEBSITE_VISIT", "VIDEO_VIEW", "BRAND_AWARENESS"]),
        "optimizationTarget": st.sampled_from([None, "NONE", "MAX_CLICK"]),
        "status": st.sampled_from(["ACTIVE", "PAUSED", "DRAFT"]),
        "offsiteDeliveryEnabled": st.booleans(),
    }
)


def dto_of(
    case: dict[str, Any], parents: dict[str, tuple[str, str]], name: str
) -> tuple[str, dict[str, Any]]:
    case = {**VALID, **case}
    for change in case.pop("changes"):
        case.update(CHANGES[change])
    account, campaign = parents[case["parent"]]
    start = datetime.now(UTC) + START_OFFSETS[case["start"]]
    end = {
        None: None,
        "before start": start - timedelta(hours=1),
        "after start": start + timedelta(days=10),
    }[case["end"]]
    body = ad_set_body(
        campaign,
        name=name,
        type=case["type"],
        format=case["format"],
        objective=case["objective"],
        costType=case["costType"],
        bid=case["bid"],
        dailyBudget=case["dailyBudget"],
        lifetimeBudget=case["lifetimeBudget"],
        currency=case["currency"],
        optimizationTarget=case["optimizationTarget"],
        startTime=start.isoformat(),
        endTime=end.isoformat() if end else None,
        locale=case["locale"],
        targeting=TARGETING[case["targeting"]],
        status=case["status"],
        offsiteDeliveryEnabled=case["offsiteDeliveryEnabled"],
    )
    return account, {key: value for key, value in body.items() if value is not None}


def outcome(response: httpx.Response) -> tuple[bool, list[str]]:
    if response.status_code == 201:
        return True, []
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    return False, [f"{item['field']}: {item['message']}" for item in error.get("fields", [])]


async def test_dry_run_agrees_with_sandbox(live_service: Service, service_settings) -> None:  # type: ignore[no-untyped-def]
    await live_service.connect()
    usd = await account_with(live_service)
    eur = await account_with(live_service, "EUR")
    parents = {
        "usd": (usd, await create_campaign(live_service, usd)),
        "eur": (eur, await create_campaign(live_service, eur, currency="EUR")),
        "usd-draft": (usd, await create_campaign(live_service, usd, status="DRAFT")),
    }
    loop = asyncio.get_running_loop()
    counter = itertools.count()
    verdicts: dict[bool, int] = {True: 0, False: 0}

    async with running_service(service_settings) as dry_run:

        async def judge(case: dict[str, Any]) -> None:
            account, body = dto_of(case, parents, f"Generated ad set {next(counter)}")
            path = f"/v1/ad-accounts/{account}/ad-sets"
            ours = outcome(await dry_run.api.post(path, json=body))
            sandbox = outcome(await live_service.api.post(path, json=body))
            verdicts[ours[0]] += 1
            assert ours[0] == sandbox[0], (
                f"dry run {'accepts' if ours[0] else 'rejects'} {ours[1]}, sandbox "
                f"{'accepts' if sandbox[0] else 'rejects'} {sandbox[1]}: {body}"
            )

        @settings(
            max_examples=100,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(ad_sets)
        def agree(case: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(judge(case), loop).result(timeout=30)

        await asyncio.to_thread(agree)

    assert verdicts[True] >= 5, verdicts
    assert verdicts[False] >= 5, verdicts
