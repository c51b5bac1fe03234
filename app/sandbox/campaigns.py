"""Campaigns: `/rest/adAccounts/{account}/adCampaigns`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.responses import Response

from app.sandbox.campaign_groups import OBJECTIVE_TYPES, group_serving_statuses
from app.sandbox.common import (
    CANCELED_STATUSES,
    bool_param,
    cursor_page,
    is_urn,
    search_criteria,
    values_criterion,
)
from app.sandbox.entities import AdResource
from app.sandbox.errors import bad_request, coded_error, restli_error
from app.sandbox.protocol import RestContext, json_response
from app.sandbox.state import ACCOUNT_URN, CAMPAIGN_URN, GROUP_URN, AdEntity
from app.sandbox.validation import (
    ANY,
    BOOLEAN,
    LONG,
    MONEY,
    RUN_SCHEDULE,
    STRING,
    Field,
    Problems,
    apply_patch,
    array,
    check_money,
    check_schedule,
    check_status_change,
    enum,
    map_of,
    patch_schema_body,
    raise_schema_problems,
    record,
)

CAMPAIGN_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "ARCHIVED",
    "COMPLETED",
    "CANCELED",
    "DRAFT",
    "PENDING_DELETION",
    "REMOVED",
)
CAMPAIGN_CREATE_STATUSES = frozenset({"ACTIVE", "PAUSED", "DRAFT"})
_RUNNING = frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"})
CAMPAIGN_TRANSITIONS = {
    "DRAFT": frozenset({"DRAFT"}) | _RUNNING,
    "ACTIVE": _RUNNING,
    "PAUSED": _RUNNING,
    "ARCHIVED": _RUNNING,
    "COMPLETED": frozenset({"COMPLETED", "ARCHIVED", "PENDING_DELETION"}),
    "PENDING_DELETION": frozenset({"PENDING_DELETION"}),
}
CAMPAIGN_TYPES = ("TEXT_AD", "SPONSORED_UPDATES", "SPONSORED_INMAILS", "DYNAMIC")
COST_TYPES = ("CPM", "CPC", "CPV")
FORMATS = (
    "CAROUSEL",
    "FOLLOW_COMPANY",
    "JOBS",
    "SINGLE_VIDEO",
    "SPONSORED_INMAIL",
    "SPONSORED_MESSAGE",
    "SPONSORED_UPDATE_EVENT",
    "SPOTLIGHT",
    "STANDARD_UPDATE",
    "TEXT_AD",
    "SPONSORED_UPDATE_NATIVE_DOCUMENT",
    "SINGLE_IMAGE",
)
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
LOCATION_FACETS = frozenset(
    {"urn:li:adTargetingFacet:locations", "urn:li:adTargetingFacet:profileLocations"}
)
SUPPORTED_LOCALES = frozenset(
    {
        ("en", "US"),
        ("en", "GB"),
        ("en", "CA"),
        ("en", "AU"),
        ("en", "IN"),
        ("en", "SG"),
        ("de", "DE"),
        ("fr", "FR"),
        ("fr", "CA"),
        ("es", "ES"),
        ("it", "IT"),
        ("pt", "BR"),
        ("nl", "NL"),
        ("sv", "SE"),
        ("da", "DK"),
        ("no", "NO"),
        ("pl", "PL"),
        ("tr", "TR"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("zh", "CN"),
        ("zh", "TW"),
        ("ru", "RU"),
        ("cs", "CZ"),
        ("ro", "RO"),
        ("in", "ID"),
        ("ms", "MY"),
        ("th", "TH"),
        ("ar", "AE"),
    }
)
# Minimums per account currency: (daily budget, total budget, manual CPC/CPM bid).
# LinkedIn states them in USD: $10 a day, $100 lifetime and a $2 bid.
# NOTE: the other rows are approximate local equivalents chosen for the sandbox, not LinkedIn's.
BUDGET_MINIMUMS: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "USD": (Decimal("10"), Decimal("100"), Decimal("2")),
    "EUR": (Decimal("10"), Decimal("100"), Decimal("2")),
    "GBP": (Decimal("10"), Decimal("100"), Decimal("2")),
    "CHF": (Decimal("10"), Decimal("100"), Decimal("2")),
    "CAD": (Decimal("14"), Decimal("140"), Decimal("3")),
    "AUD": (Decimal("15"), Decimal("150"), Decimal("3")),
    "SGD": (Decimal("14"), Decimal("140"), Decimal("3")),
    "INR": (Decimal("850"), Decimal("8500"), Decimal("170")),
    "JPY": (Decimal("1500"), Decimal("15000"), Decimal("300")),
}
MAX_NAME_LENGTH = 255

_FACET_MAP = map_of(array(STRING))
TARGETING_SCHEMA = record(
    include=record(**{"and": array(record(**{"or": _FACET_MAP}))}),
    exclude=record(**{"or": _FACET_MAP}),
)
CAMPAIGN_SCHEMA = record(
    account=Field(STRING, create_only=True),
    campaignGroup=STRING,
    name=STRING,
    type=enum(*CAMPAIGN_TYPES),
    costType=enum(*COST_TYPES),
    unitCost=MONEY,
    dailyBudget=MONEY,
    totalBudget=MONEY,
    locale=record(country=STRING, language=STRING),
    offsiteDeliveryEnabled=BOOLEAN,
    politicalIntent=enum("POLITICAL", "NOT_POLITICAL", "NOT_DECLARED"),
    status=enum(*CAMPAIGN_STATUSES),
    targetingCriteria=TARGETING_SCHEMA,
    targeting=ANY,
    runSchedule=RUN_SCHEDULE,
    objectiveType=enum(*OBJECTIVE_TYPES),
    optimizationTargetType=enum(*OPTIMIZATION_TARGETS),
    creativeSelection=enum("OPTIMIZED", "ROUND_ROBIN"),
    format=enum(*FORMATS),
    pacingStrategy=Field(enum("LIFETIME", "ACCELERATED"), since="202501", create_only=True),
    audienceExpansionEnabled=BOOLEAN,
    associatedEntity=STRING,
    connectedTelevisionOnly=Field(BOOLEAN, since="202408"),
    optimizationPreference=Field(ANY, since="202408"),
    offsitePreferences=ANY,
    storyDeliveryEnabled=BOOLEAN,
    id=Field(LONG, read_only=True),
    test=Field(BOOLEAN, read_only=True),
    servingStatuses=Field(array(STRING), read_only=True),
    changeAuditStamps=Field(ANY, read_only=True),
    version=Field(ANY, read_only=True),
)
REQUIRED_FIELDS = (
    "campaignGroup",
    "name",
    "type",
    "costType",
    "unitCost",
    "locale",
    "offsiteDeliveryEnabled",
    "politicalIntent",
    "status",
)


def _facets(clause: Any) -> set[str]:
    if not isinstance(clause, dict):
        return set()
    facets = clause.get("or", {})
    return set(facets) if isinstance(facets, dict) else set()


def _check_values(problems: Problems, path: str, clause: Any) -> None:
    """Reject facet values that are not URNs, as LinkedIn does, one error per value."""
    if not isinstance(clause, dict) or not isinstance(clause.get("or"), dict):
        return
    for facet, values in clause["or"].items():
        for index, value in enumerate(values):
            if not is_urn(value):
                problems.add(
                    "INVALID_VALUE_FOR_FIELD",
                    f"{path}/{facet}/{index}",
                    f"{value} is not a valid URN",
                )


def check_targeting(problems: Problems, targeting: Any) -> None:
    if not isinstance(targeting, dict) or not isinstance(targeting.get("include"), dict):
        problems.missing("/targetingCriteria/include")
        return
    included: set[str] = set()
    for position, clause in enumerate(targeting["include"].get("and", [])):
        included |= _facets(clause)
        _check_values(problems, f"/targetingCriteria/include/and/{position}/or", clause)
    excluded = _facets(targeting.get("exclude"))
    _check_values(problems, "/targetingCriteria/exclude/or", targeting.get("exclude"))
    for facet in sorted(included | excluded):
        if not facet.startswith("urn:li:adTargetingFacet:"):
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/targetingCriteria",
                f"{facet} is not an ad targeting facet URN",
            )
    if not included & LOCATION_FACETS:
        problems.add(
            "MISSING_FIELD",
            "/targetingCriteria/include",
            "/targetingCriteria/include must contain a locations or profileLocations facet",
        )
    for facet in sorted(included & excluded):
        problems.add(
            "FIELD_CANNOT_BE_BOTH_IN_INCLUDED_AND_EXCLUDED_TARGETING",
            "/targetingCriteria/exclude",
            f"{facet} can't be both in included and excluded targeting",
        )


def campaign_serving_statuses(ctx: RestContext, campaign: AdEntity) -> list[str]:
    now_ms = ctx.state.now_ms()
    statuses: list[str] = []
    if campaign.status != "ACTIVE":
        statuses.append("STOPPED")
    schedule = campaign.fields.get("runSchedule", {})
    if schedule.get("start", 0) > now_ms:
        statuses.append("CAMPAIGN_START_DATE_HOLD")
    if schedule.get("end") is not None and schedule["end"] <= now_ms:
        statuses.append("CAMPAIGN_END_DATE_HOLD")
    statuses.extend(campaign.holds)
    group = _group_of(ctx, campaign.fields.get("campaignGroup"))
    if group is not None:
        if group.status != "ACTIVE":
            statuses.append("CAMPAIGN_GROUP_STATUS_HOLD")
        for hold in group_serving_statuses(ctx, group):
            if hold not in {"RUNNABLE", "STOPPED"} and hold not in statuses:
                statuses.append(hold)
    account = ctx.state.accounts[campaign.account_id]
    if account.fields["status"] != "ACTIVE":
        statuses.append("ACCOUNT_SERVING_HOLD")
    return statuses or ["RUNNABLE"]


def _group_of(ctx: RestContext, urn: Any) -> AdEntity | None:
    if not is_urn(urn, "sponsoredCampaignGroup"):
        return None
    group_id = urn[len(GROUP_URN) :]
    group: AdEntity | None = ctx.state.groups.get(int(group_id)) if group_id.isdigit() else None
    return group


class Campaigns(AdResource):
    kind = "campaign"
    resource = "adCampaigns"
    label = "campaign"

    def store(self, ctx: RestContext) -> dict[int, AdEntity]:
        campaigns: dict[int, AdEntity] = ctx.state.campaigns
        return campaigns

    def render(self, ctx: RestContext, entity: AdEntity) -> dict[str, Any]:
        account = ctx.state.accounts[entity.account_id]
        body: dict[str, Any] = {"id": entity.id, **entity.fields}
        body["test"] = account.fields["test"]
        body["servingStatuses"] = campaign_serving_statuses(ctx, entity)
        body["changeAuditStamps"] = entity.audit_stamps()
        body["version"] = {"versionTag": str(entity.version)}
        return body

    def _check_fields(
        self,
        ctx: RestContext,
        account: AdEntity,
        fields: dict[str, Any],
        problems: Problems,
        previous: AdEntity | None,
    ) -> None:
        """Apply the rules a whole campaign must meet, on create and after every patch."""
        for field_name in REQUIRED_FIELDS:
            if field_name not in fields:
                problems.missing(f"/{field_name}")
        if "dailyBudget" not in fields and "totalBudget" not in fields:
            problems.add(
                "MISSING_FIELD",
                "/dailyBudget",
                "/dailyBudget or /totalBudget is required but missing",
            )
        if "targeting" in fields:
            problems.add(
                "TARGETING_FIELD_DEPRECATED",
                "/targeting",
                "/targeting is deprecated: use /targetingCriteria",
            )
        elif "targetingCriteria" not in fields:
            problems.missing("/targetingCriteria")
        else:
            check_targeting(problems, fields["targetingCriteria"])
        name = fields.get("name")
        if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/name",
                f"/name must be at most {MAX_NAME_LENGTH} characters",
            )
        locale = fields.get("locale")
        if isinstance(locale, dict):
            pair = (locale.get("language"), locale.get("country"))
            if pair not in SUPPORTED_LOCALES:
                problems.add(
                    "INVALID_VALUE_FOR_FIELD",
                    "/locale",
                    f"/locale {pair[0]}_{pair[1]} is not a supported locale",
                )
        self._check_money(account, fields, problems)
        self._check_group(ctx, account, fields, problems)
        cost_type = fields.get("costType")
        if cost_type == "CPV" and not (
            fields.get("objectiveType") == "VIDEO_VIEW" or fields.get("format") == "SINGLE_VIDEO"
        ):
            problems.add(
                "INVALID_CAMPAIGN_CONFIGURATION",
                "/costType",
                "/costType CPV is only allowed for video campaigns",
            )
        if "runSchedule" in fields:
            check_schedule(
                problems,
                fields["runSchedule"],
                now_ms=ctx.state.now_ms(),
                grace_ms=ctx.sandbox.config.schedule_grace_seconds * 1000,
                previous=previous.fields.get("runSchedule") if previous else None,
                is_draft=previous.status == "DRAFT" if previous else True,
                required_end=False,
            )

    def _check_money(self, account: AdEntity, fields: dict[str, Any], problems: Problems) -> None:
        currency = account.fields["currency"]
        daily_min, total_min, bid_min = BUDGET_MINIMUMS.get(currency, BUDGET_MINIMUMS["USD"])
        if "dailyBudget" in fields:
            check_money(problems, "/dailyBudget", fields["dailyBudget"], currency, daily_min)
        if "totalBudget" in fields:
            check_money(problems, "/totalBudget", fields["totalBudget"], currency, total_min)
        if "unitCost" in fields:
            automated = fields.get("optimizationTargetType", "NONE") != "NONE"
            minimum = bid_min if fields.get("costType") in {"CPC", "CPM"} else None
            check_money(
                problems, "/unitCost", fields["unitCost"], currency, minimum, allow_zero=automated
            )

    def _check_group(
        self, ctx: RestContext, account: AdEntity, fields: dict[str, Any], problems: Problems
    ) -> None:
        if "campaignGroup" not in fields:
            return
        group = _group_of(ctx, fields["campaignGroup"])
        if group is None or group.account_id != account.id:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/campaignGroup",
                f"/campaignGroup {fields['campaignGroup']} does not exist in ad account "
                f"{account.id}",
            )
            return
        if group.status in CANCELED_STATUSES | {"PENDING_DELETION"}:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/campaignGroup",
                f"/campaignGroup {group.id} is {group.status}",
            )
        if group.status == "DRAFT" and fields.get("status", "DRAFT") != "DRAFT":
            problems.add(
                "ONLY_DRAFT_CAMPAIGNS_ALLOWED_IN_DRAFT_CAMPAIGN_GROUPS",
                "/status",
                f"Campaign group {group.id} is DRAFT, so its campaigns must be DRAFT",
            )
        group_objective = group.fields.get("objectiveType")
        objective = fields.get("objectiveType")
        if group_objective and objective and objective != group_objective:
            problems.add(
                "INVALID_CAMPAIGN_CONFIGURATION",
                "/objectiveType",
                f"/objectiveType {objective} differs from the campaign group's {group_objective}",
            )

    def new_entity(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> AdEntity:
        raise_schema_problems(body, CAMPAIGN_SCHEMA, "create", ctx.version)
        problems = Problems()
        account_urn = f"{ACCOUNT_URN}{account.id}"
        if "account" not in body:
            problems.missing("/account")
        elif body["account"] != account_urn:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/account",
                f"/account {body['account']} does not match the ad account in the "
                f"path ({account_urn})",
            )
        status = body.get("status")
        if status is not None and status not in CAMPAIGN_CREATE_STATUSES:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/status",
                f"/status {status} can't be set when creating a campaign",
            )
        self._check_fields(ctx, account, body, problems, previous=None)
        problems.raise_if_any()
        now_ms = ctx.state.now_ms()
        fields = dict(body)
        fields.setdefault("runSchedule", {"start": now_ms})
        fields.setdefault("optimizationTargetType", "NONE")
        fields.setdefault("creativeSelection", "OPTIMIZED")
        fields.setdefault("audienceExpansionEnabled", False)
        group = _group_of(ctx, fields["campaignGroup"])
        if (
            group is not None
            and "objectiveType" not in fields
            and group.fields.get("objectiveType")
        ):
            fields["objectiveType"] = group.fields["objectiveType"]
        return AdEntity(
            kind=self.kind,
            id=ctx.state.campaign_ids.next(),
            account_id=account.id,
            fields=fields,
            created_at=now_ms,
            created_by=ctx.member,
            modified_at=now_ms,
            modified_by=ctx.member,
        )

    def updated_fields(
        self, ctx: RestContext, account: AdEntity, entity: AdEntity, patch: dict[str, Any]
    ) -> dict[str, Any]:
        raise_schema_problems(
            patch_schema_body(patch), CAMPAIGN_SCHEMA, "partial_update", ctx.version
        )
        if entity.status in CANCELED_STATUSES:
            raise coded_error(
                400,
                "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS",
                f"Campaign {entity.id} is {entity.status} and can't be updated",
            )
        fields = apply_patch(entity.fields, patch)
        problems = Problems()
        check_status_change(
            problems, "status", entity.status, fields.get("status", ""), CAMPAIGN_TRANSITIONS
        )
        if fields.get("objectiveType") != entity.fields.get("objectiveType"):
            problems.add(
                "IMMUTABLE_CAMPAIGN_OBJECTIVE_TYPE",
                "/objectiveType",
                "/objectiveType can't be changed after the campaign is created",
            )
        if fields.get("format") != entity.fields.get("format"):
            problems.add(
                "INVALID_CAMPAIGN_CONFIGURATION",
                "/format",
                "/format can't be changed after the campaign is created",
            )
        if fields.get("type") != entity.fields.get("type") and entity.status != "DRAFT":
            problems.add(
                "FIELD_IMMUTABLE_FOR_NON_DRAFT_CAMPAIGNS",
                "/type",
                "/type can only be changed while the campaign is DRAFT",
            )
        self._check_fields(ctx, account, fields, problems, previous=entity)
        problems.raise_if_any()
        return fields

    def check_delete(self, ctx: RestContext, entity: AdEntity) -> None:
        if entity.status != "DRAFT":
            raise coded_error(
                400,
                "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS",
                f"Campaign {entity.id} is {entity.status}: only DRAFT campaigns can be deleted. "
                "Set status to PENDING_DELETION instead",
            )

    def delete(self, ctx: RestContext, entity: AdEntity) -> None:
        campaign_urn = f"{CAMPAIGN_URN}{entity.id}"
        for creative_id in [
            c.id for c in ctx.state.creatives.values() if c.fields.get("campaign") == campaign_urn
        ]:
            del ctx.state.creatives[creative_id]
        del ctx.state.campaigns[entity.id]

    async def search(self, ctx: RestContext, account: AdEntity) -> Response:
        if ctx.params.text("q") != "search":
            raise bad_request(
                f"Unsupported finder q={ctx.params.text('q')!r} on adCampaigns: use q=search"
            )
        criteria = search_criteria(
            ctx, {"campaignGroup", "id", "status", "type", "name", "test"}, required=True
        )
        groups = values_criterion(criteria, "campaignGroup")
        ids = values_criterion(criteria, "id")
        statuses = values_criterion(criteria, "status")
        types = values_criterion(criteria, "type")
        names = values_criterion(criteria, "name")
        test_value = criteria.get("test")
        test = bool_param(test_value if isinstance(test_value, str) else None, "test criterion")
        account_test = account.fields["test"]
        descending = ctx.params.text("sortOrder") == "DESCENDING"
        campaigns = sorted(
            (c for c in ctx.state.campaigns.values() if c.account_id == account.id),
            key=lambda c: c.id,
            reverse=descending,
        )
        matches = [
            c
            for c in campaigns
            if (groups is None or c.fields.get("campaignGroup") in groups)
            and (ids is None or f"{CAMPAIGN_URN}{c.id}" in ids)
            and (statuses is None or c.status in statuses)
            and (types is None or c.fields.get("type") in types)
            and (names is None or any(n.lower() in c.fields["name"].lower() for n in names))
            and (test is None or test == account_test)
        ]
        if "pageSize" not in ctx.params and len(matches) > 1000:
            raise restli_error(400, "Request would return too many entities. ")
        return json_response(
            cursor_page(ctx, matches, lambda c: c.id, render=lambda c: self.render(ctx, c))
        )


RESOURCE = Campaigns()
