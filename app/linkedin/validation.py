"""LinkedIn's rules for campaigns and creatives, checked before a dry-run write responds.

Each check returns problems keyed by LinkedIn's input path (`/dailyBudget/amount`), the way
LinkedIn reports them, so one table per resource renames both these and LinkedIn's own errors
to DTO fields. The rules follow LinkedIn's Marketing API documentation (campaigns and creatives
pages, API version 2026-02) and observed behaviour; this module shares no code with the sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.core.errors import FieldError
from app.linkedin.payloads import from_epoch_ms, parse_money

CAMPAIGN_TYPES = ("TEXT_AD", "SPONSORED_UPDATES", "SPONSORED_INMAILS", "DYNAMIC")
COST_TYPES = ("CPM", "CPC", "CPV")
CAMPAIGN_FORMATS = (
    "CAROUSEL",
    "FOLLOW_COMPANY",
    "JOBS",
    "SINGLE_IMAGE",
    "SINGLE_VIDEO",
    "SPONSORED_INMAIL",
    "SPONSORED_MESSAGE",
    "SPONSORED_UPDATE_EVENT",
    "SPONSORED_UPDATE_NATIVE_DOCUMENT",
    "SPOTLIGHT",
    "STANDARD_UPDATE",
    "TEXT_AD",
)
# LinkedIn's schema table prints plural objective names, but the API accepts only the singular
# ones: a live call with WEBSITE_CONVERSIONS returned 422 "is not an enum symbol".
OBJECTIVE_TYPES = (
    "BRAND_AWARENESS",
    "CREATIVE_ENGAGEMENT",
    "ENGAGEMENT",
    "JOB_APPLICANT",
    "LEAD_GENERATION",
    "TALENT_LEAD",
    "VIDEO_VIEW",
    "WEBSITE_CONVERSION",
    "WEBSITE_TRAFFIC",
    "WEBSITE_VISIT",
)
PLURAL_OBJECTIVES = {
    "JOB_APPLICANTS": "JOB_APPLICANT",
    "VIDEO_VIEWS": "VIDEO_VIEW",
    "WEBSITE_CONVERSIONS": "WEBSITE_CONVERSION",
    "WEBSITE_VISITS": "WEBSITE_VISIT",
}
OPTIMIZATION_TARGETS = (
    "NONE",
    "ENGAGEMENT_CLICK",
    "MAX_REACH",
    "MAX_IMPRESSION",
    "MAX_CLICK",
    "MAX_CONVERSION",
    "MAX_LEAD",
    "MAX_VIDEO_VIEW",
    "MAX_LANDING_PAGE_VIEW",
    "MAX_COMPANY_FOLLOWERS",
    "MAX_QUALIFIED_LEAD",
    "TARGET_COST_PER_CLICK",
    "TARGET_COST_PER_IMPRESSION",
    "TARGET_COST_PER_VIDEO_VIEW",
    "CAP_COST_AND_MAXIMIZE_CLICKS",
    "CAP_COST_AND_MAXIMIZE_IMPRESSIONS",
    "CAP_COST_AND_MAXIMIZE_VIDEO_VIEWS",
    "CAP_COST_AND_MAXIMIZE_LEADS",
)
CREATIVE_SELECTIONS = ("OPTIMIZED", "ROUND_ROBIN")
POLITICAL_INTENTS = ("POLITICAL", "NOT_POLITICAL", "NOT_DECLARED")
CALL_TO_ACTION_LABELS = (
    "APPLY",
    "DOWNLOAD",
    "VIEW_QUOTE",
    "LEARN_MORE",
    "SIGN_UP",
    "SUBSCRIBE",
    "REGISTER",
    "REQUEST_DEMO",
    "JOIN",
    "ATTEND",
    "UNLOCK_FULL_DOCUMENT",
)

# Campaign locales LinkedIn supports, as (language, country).
# NOTE: reconstructed from the languages LinkedIn's interface offers, not from the campaign API
# reference, so LinkedIn may accept more pairs (for example en_GB) than this list has.
SUPPORTED_LOCALES = frozenset(
    {
        ("ar", "AE"),
        ("cs", "CZ"),
        ("da", "DK"),
        ("de", "DE"),
        ("en", "US"),
        ("es", "ES"),
        ("fr", "FR"),
        ("in", "ID"),
        ("it", "IT"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("ms", "MY"),
        ("nl", "NL"),
        ("no", "NO"),
        ("pl", "PL"),
        ("pt", "BR"),
        ("ro", "RO"),
        ("ru", "RU"),
        ("sv", "SE"),
        ("th", "TH"),
        ("tr", "TR"),
        ("zh", "CN"),
        ("zh", "TW"),
    }
)
FACET_PREFIX = "urn:li:adTargetingFacet:"
LOCATION_FACETS = frozenset({FACET_PREFIX + "locations", FACET_PREFIX + "profileLocations"})

# LinkedIn's minimum campaign budgets and manual CPC/CPM bid, in account-currency units:
# 10 a day, 100 for the lifetime, a bid of 2.
# NOTE: these are the USD minimums as commonly quoted for Campaign Manager, not figures from the
# API reference. The same figures are assumed for EUR, GBP and CHF, and other currencies are
# not checked here (LinkedIn still checks them on a live write).
MINIMUM_DAILY_BUDGET = Decimal("10")
MINIMUM_LIFETIME_BUDGET = Decimal("100")
MINIMUM_BID = Decimal("2")
CURRENCIES_WITH_KNOWN_MINIMUMS = frozenset({"USD", "EUR", "GBP", "CHF"})

CAMPAIGN_CREATE_STATUSES = frozenset({"ACTIVE", "PAUSED", "DRAFT"})
CANCELED_STATUSES = frozenset({"CANCELED", "CANCELLED", "REMOVED"})
_RUNNING = frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"})
# Status changes LinkedIn allows on a campaign (from -> to); a canceled campaign takes none.
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": _RUNNING | {"DRAFT"},
    "ACTIVE": _RUNNING,
    "PAUSED": _RUNNING,
    "ARCHIVED": _RUNNING,
    "COMPLETED": frozenset({"COMPLETED", "ARCHIVED", "PENDING_DELETION"}),
    "PENDING_DELETION": frozenset({"PENDING_DELETION"}),
}
# Status changes LinkedIn allows on a creative's intendedStatus.
CREATIVE_TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": _RUNNING | {"DRAFT", "CANCELED"},
    "ACTIVE": _RUNNING | {"CANCELED"},
    "PAUSED": _RUNNING | {"CANCELED"},
    "ARCHIVED": _RUNNING,
    "PENDING_DELETION": frozenset({"PENDING_DELETION"}),
}
CONTENT_REFERENCE_TYPES = ("share", "ugcPost", "adInMailContent")
INLINE_MEDIA_TYPES = ("image", "video", "document", "digitalmediaAsset")
# Creative names exist from LinkedIn-Version 202410 on; older versions reject the field.
CREATIVE_NAME_MIN_VERSION = "202410"
# Allowance for the time between this check and LinkedIn reading the request.
PAST_START_GRACE = timedelta(seconds=60)


def urn_type(value: Any) -> str | None:
    """Return the entity type of `urn:li:{type}:{id}`, or None when `value` is not such a URN."""
    if not isinstance(value, str) or not value.startswith("urn:li:"):
        return None
    parts = value.split(":", 3)
    if len(parts) != 4 or not parts[2] or not parts[3]:
        return None
    return parts[2]


def status_change_problem(
    field: str, before: str, after: str, transitions: dict[str, frozenset[str]]
) -> FieldError | None:
    if before == after:
        return None
    if before in CANCELED_STATUSES or after not in transitions.get(before, frozenset()):
        return FieldError(f"/{field}", f"can't be changed from {before} to {after}")
    return None


def _check_money(
    problems: list[FieldError],
    path: str,
    value: Any,
    currency: str,
    minimum: Decimal | None,
    allow_zero: bool = False,
) -> None:
    parsed = parse_money(value)
    if parsed is None:
        problems.append(FieldError(path, "is not a currency amount"))
        return
    amount, code = parsed
    if code != currency:
        problems.append(
            FieldError(
                f"{path}/currencyCode", f"{code} differs from the ad account's currency {currency}"
            )
        )
        return
    if amount < 0 or (amount == 0 and not allow_zero):
        problems.append(FieldError(f"{path}/amount", "must be greater than 0"))
        return
    known = currency in CURRENCIES_WITH_KNOWN_MINIMUMS
    if minimum is not None and known and amount < minimum and not (allow_zero and amount == 0):
        problems.append(
            FieldError(
                f"{path}/amount", f"{amount} is below LinkedIn's minimum of {minimum} {currency}"
            )
        )


def _check_schedule(
    problems: list[FieldError], schedule: Any, previous: dict[str, Any] | None, now: datetime
) -> None:
    """Check `runSchedule` the way LinkedIn re-validates a whole record on every write.

    A start that already passed may change only while the record is a DRAFT, and a DRAFT whose
    stored start passed must get a new one in the same write.
    """
    if not isinstance(schedule, dict) or schedule.get("start") is None:
        problems.append(FieldError("/runSchedule/start", "is required"))
        return
    start = from_epoch_ms(schedule["start"])
    end = from_epoch_ms(schedule.get("end"))
    assert start is not None
    earliest = now - PAST_START_GRACE
    old_schedule = (previous or {}).get("runSchedule") or {}
    old_start = from_epoch_ms(old_schedule.get("start"))
    is_draft = previous is None or previous.get("status") == "DRAFT"
    if previous is None or old_start != start:
        if previous is not None and not is_draft and old_start is not None and old_start < earliest:
            problems.append(
                FieldError("/runSchedule/start", "can't be changed after the start date has passed")
            )
        elif start < earliest:
            problems.append(FieldError("/runSchedule/start", "must not be in the past"))
    elif is_draft and start < earliest:
        problems.append(
            FieldError(
                "/runSchedule/start", "has passed; a DRAFT needs a new start time on every update"
            )
        )
    if end is not None and end <= start:
        problems.append(FieldError("/runSchedule/end", "must be after start_time"))


def _facets(clause: Any) -> dict[str, Any]:
    if not isinstance(clause, dict) or not isinstance(clause.get("or"), dict):
        return {}
    return dict(clause["or"])


def _check_facet_values(problems: list[FieldError], path: str, facets: dict[str, Any]) -> None:
    for facet, values in facets.items():
        for index, value in enumerate(values if isinstance(values, list) else [values]):
            if urn_type(value) is None:
                problems.append(FieldError(f"{path}/{facet}/{index}", f"{value!r} is not a URN"))


def _check_targeting(problems: list[FieldError], targeting: Any) -> None:
    include = targeting.get("include") if isinstance(targeting, dict) else None
    if not isinstance(include, dict):
        problems.append(FieldError("/targetingCriteria/include", "is required"))
        return
    included: set[str] = set()
    for position, clause in enumerate(include.get("and") or []):
        included.update(_facets(clause))
        _check_facet_values(
            problems, f"/targetingCriteria/include/and/{position}/or", _facets(clause)
        )
    excluded_facets = _facets(targeting.get("exclude"))
    excluded = set(excluded_facets)
    _check_facet_values(problems, "/targetingCriteria/exclude/or", excluded_facets)
    for facet in sorted(included | excluded):
        if not facet.startswith(FACET_PREFIX):
            problems.append(
                FieldError("/targetingCriteria", f"{facet} is not an ad targeting facet URN")
            )
    if not included & LOCATION_FACETS:
        problems.append(
            FieldError(
                "/targetingCriteria/include", "must contain a locations or profileLocations facet"
            )
        )
    for facet in sorted(included & excluded):
        short = facet.removeprefix(FACET_PREFIX)
        problems.append(
            FieldError(
                "/targetingCriteria/exclude", f"facet {short} can't be both included and excluded"
            )
        )


def _check_enum(
    problems: list[FieldError], entity: dict[str, Any], key: str, symbols: tuple[str, ...]
) -> None:
    value = entity.get(key)
    if value is None:
        return
    if key == "objectiveType" and value in PLURAL_OBJECTIVES:
        problems.append(
            FieldError(
                f"/{key}",
                f"{value} is the plural spelling, which LinkedIn rejects; use "
                f"{PLURAL_OBJECTIVES[value]}",
            )
        )
    elif value not in symbols:
        problems.append(FieldError(f"/{key}", f"{value!r} is not one of {', '.join(symbols)}"))


def check_campaign(
    entity: dict[str, Any],
    *,
    account_urn: str,
    account_currency: str,
    group: dict[str, Any] | None,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[FieldError]:
    """Return every rule a whole campaign breaks; `previous` is the stored one on an update.

    `group` is the parent campaign group as LinkedIn returns it, or None when it does not exist.
    """
    now = now or datetime.now(UTC)
    problems: list[FieldError] = []
    required = (
        "campaignGroup",
        "name",
        "type",
        "costType",
        "unitCost",
        "locale",
        "offsiteDeliveryEnabled",
        "politicalIntent",
        "status",
        "targetingCriteria",
    )
    for key in required:
        if entity.get(key) is None:
            problems.append(FieldError(f"/{key}", "is required"))
    if entity.get("account") != account_urn:
        problems.append(FieldError("/account", f"must be {account_urn}"))
    for key, symbols in (
        ("type", CAMPAIGN_TYPES),
        ("costType", COST_TYPES),
        ("format", CAMPAIGN_FORMATS),
        ("objectiveType", OBJECTIVE_TYPES),
        ("optimizationTargetType", OPTIMIZATION_TARGETS),
        ("creativeSelection", CREATIVE_SELECTIONS),
        ("politicalIntent", POLITICAL_INTENTS),
    ):
        _check_enum(problems, entity, key, symbols)
    if previous is None and entity.get("status") not in CAMPAIGN_CREATE_STATUSES:
        problems.append(FieldError("/status", "must be ACTIVE, PAUSED or DRAFT on create"))

    if entity.get("dailyBudget") is None and entity.get("totalBudget") is None:
        problems.append(FieldError("/dailyBudget", "a daily or a lifetime budget is required"))
    if entity.get("dailyBudget") is not None:
        _check_money(
            problems, "/dailyBudget", entity["dailyBudget"], account_currency, MINIMUM_DAILY_BUDGET
        )
    if entity.get("totalBudget") is not None:
        _check_money(
            problems,
            "/totalBudget",
            entity["totalBudget"],
            account_currency,
            MINIMUM_LIFETIME_BUDGET,
        )
    if entity.get("unitCost") is not None:
        # With an optimization target LinkedIn bids automatically, so a zero bid is allowed.
        automated = entity.get("optimizationTargetType", "NONE") != "NONE"
        minimum = MINIMUM_BID if entity.get("costType") in ("CPC", "CPM") else None
        _check_money(
            problems,
            "/unitCost",
            entity["unitCost"],
            account_currency,
            minimum,
            allow_zero=automated,
        )

    locale = entity.get("locale")
    if isinstance(locale, dict):
        pair = (locale.get("language"), locale.get("country"))
        if pair not in SUPPORTED_LOCALES:
            problems.append(FieldError("/locale", f"{pair[0]}_{pair[1]} is not a supported locale"))
    if entity.get("targetingCriteria") is not None:
        _check_targeting(problems, entity["targetingCriteria"])
    _check_schedule(problems, entity.get("runSchedule"), previous, now)

    is_video = entity.get("objectiveType") == "VIDEO_VIEW" or entity.get("format") == "SINGLE_VIDEO"
    if entity.get("costType") == "CPV" and not is_video:
        problems.append(
            FieldError(
                "/costType",
                "CPV is only allowed for video ad sets "
                "(objective VIDEO_VIEW or format SINGLE_VIDEO)",
            )
        )
    problems.extend(_group_problems(entity, group))
    if previous is not None:
        problems.extend(_campaign_update_problems(entity, previous))
    return problems


def _group_problems(entity: dict[str, Any], group: dict[str, Any] | None) -> list[FieldError]:
    if entity.get("campaignGroup") is None:
        return []
    if group is None:
        return [
            FieldError(
                "/campaignGroup", f"{entity['campaignGroup']} does not exist in this ad account"
            )
        ]
    problems: list[FieldError] = []
    group_status = str(group.get("status") or "")
    if group_status in CANCELED_STATUSES | {"PENDING_DELETION"}:
        problems.append(FieldError("/campaignGroup", f"the campaign is {group_status}"))
    if group_status == "DRAFT" and entity.get("status") != "DRAFT":
        problems.append(FieldError("/status", "must be DRAFT while the campaign is DRAFT"))
    group_objective = group.get("objectiveType")
    objective = entity.get("objectiveType")
    if group_objective and objective and objective != group_objective:
        problems.append(
            FieldError(
                "/objectiveType", f"{objective} differs from the campaign's {group_objective}"
            )
        )
    return problems


def _campaign_update_problems(entity: dict[str, Any], previous: dict[str, Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    before = str(previous.get("status") or "")
    change = status_change_problem(
        "status", before, str(entity.get("status")), CAMPAIGN_TRANSITIONS
    )
    if change is not None:
        problems.append(change)
    if entity.get("objectiveType") != previous.get("objectiveType"):
        problems.append(FieldError("/objectiveType", "can't be changed after creation"))
    if entity.get("format") != previous.get("format"):
        problems.append(FieldError("/format", "can't be changed after creation"))
    if entity.get("type") != previous.get("type") and before != "DRAFT":
        problems.append(FieldError("/type", "can only be changed while the ad set is DRAFT"))
    return problems


def check_creative_create(
    creative: dict[str, Any],
    *,
    campaign: dict[str, Any] | None,
    api_version: str,
    media_exists: bool | None = None,
) -> list[FieldError]:
    """Return every rule a new creative breaks.

    `campaign` is the ad set it is bound to, or None when that does not exist. `media_exists`
    tells whether the inline post's media was found (None when there is no inline media).
    """
    problems: list[FieldError] = []
    if creative.get("campaign") is None:
        problems.append(FieldError("/campaign", "is required"))
    elif campaign is None:
        problems.append(
            FieldError("/campaign", f"{creative['campaign']} does not exist in this ad account")
        )
    elif str(campaign.get("status")) in CANCELED_STATUSES | {"PENDING_DELETION"}:
        problems.append(FieldError("/campaign", f"the ad set is {campaign.get('status')}"))
    status = creative.get("intendedStatus")
    if status is None:
        problems.append(FieldError("/intendedStatus", "is required"))
    elif status not in CAMPAIGN_CREATE_STATUSES:
        problems.append(FieldError("/intendedStatus", "must be ACTIVE, PAUSED or DRAFT on create"))
    if "name" in creative and api_version[:6] < CREATIVE_NAME_MIN_VERSION:
        problems.append(
            FieldError(
                "/name",
                f"ad names need LinkedIn-Version {CREATIVE_NAME_MIN_VERSION} or later "
                f"(configured: {api_version}); leave the name out or raise "
                "LINKEDIN_ADS_API_VERSION",
            )
        )

    has_content = creative.get("content") is not None
    inline = creative.get("inlineContent")
    if has_content == (inline is not None):
        problems.append(FieldError("/content", "exactly one of reference or inline is required"))
    elif has_content:
        reference = (creative["content"] or {}).get("reference")
        if urn_type(reference) not in CONTENT_REFERENCE_TYPES:
            problems.append(
                FieldError(
                    "/content/reference",
                    f"{reference!r} must be a share, ugcPost or adInMailContent URN",
                )
            )
    else:
        problems.extend(_inline_post_problems(inline, media_exists))
    return problems


def _inline_post_problems(inline: Any, media_exists: bool | None) -> list[FieldError]:
    post = inline.get("post") if isinstance(inline, dict) else None
    if not isinstance(post, dict):
        return [FieldError("/inlineContent", "inlineContent.post is required")]
    problems: list[FieldError] = []
    if urn_type(post.get("author")) not in ("organization", "person"):
        problems.append(
            FieldError("/inlineContent/post/author", "must be an organization or person URN")
        )
    label = post.get("contentCallToActionLabel")
    if label is not None and label not in CALL_TO_ACTION_LABELS:
        problems.append(
            FieldError(
                "/inlineContent/post/contentCallToActionLabel",
                f"{label!r} is not one of {', '.join(CALL_TO_ACTION_LABELS)}",
            )
        )
    media = (post.get("content") or {}).get("media") or {}
    if media:
        media_urn = media.get("id")
        if urn_type(media_urn) not in INLINE_MEDIA_TYPES:
            problems.append(
                FieldError(
                    "/inlineContent/post/content/media/id",
                    "must be an image, video or document URN",
                )
            )
        elif media_exists is False:
            problems.append(
                FieldError("/inlineContent/post/content/media/id", f"{media_urn} does not exist")
            )
    return problems


def check_creative_update(
    changes: dict[str, Any], current: dict[str, Any], api_version: str
) -> list[FieldError]:
    """Return every rule a creative update breaks (LinkedIn updates only status and name)."""
    problems: list[FieldError] = []
    before = str(current.get("intendedStatus") or "")
    if before in CANCELED_STATUSES:
        problems.append(FieldError("/intendedStatus", "a canceled ad can't be updated"))
        return problems
    if "intendedStatus" in changes:
        change = status_change_problem(
            "intendedStatus", before, changes["intendedStatus"], CREATIVE_TRANSITIONS
        )
        if change is not None:
            problems.append(change)
    if "name" in changes and api_version[:6] < CREATIVE_NAME_MIN_VERSION:
        problems.append(
            FieldError(
                "/name",
                f"ad names need LinkedIn-Version {CREATIVE_NAME_MIN_VERSION} or later "
                f"(configured: {api_version})",
            )
        )
    return problems
