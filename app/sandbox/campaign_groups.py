"""Campaign groups: `/rest/adAccounts/{account}/adCampaignGroups`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.sandbox.common import (
    CANCELED_STATUSES,
    bool_param,
    cursor_page,
    search_criteria,
    values_criterion,
)
from app.sandbox.entities import AdResource
from app.sandbox.errors import bad_request, coded_error
from app.sandbox.protocol import RestContext, json_response
from app.sandbox.state import ACCOUNT_URN, GROUP_URN, AdEntity
from app.sandbox.validation import (
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
    patch_schema_body,
    raise_schema_problems,
    record,
)

# The group schema spells CANCELLED, but the search criteria spell CANCELED. Both are set by
# the system only.
GROUP_STATUSES = (
    "ACTIVE",
    "ARCHIVED",
    "CANCELLED",
    "DRAFT",
    "PAUSED",
    "PENDING_DELETION",
    "REMOVED",
)
GROUP_CREATE_STATUSES = frozenset({"ACTIVE", "PAUSED", "DRAFT"})
_RUNNING = frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"})
GROUP_TRANSITIONS = {
    "DRAFT": frozenset({"DRAFT"}) | _RUNNING,
    "ACTIVE": _RUNNING,
    "PAUSED": _RUNNING,
    "ARCHIVED": _RUNNING,
    "PENDING_DELETION": frozenset({"PENDING_DELETION"}),
}
# The live API accepts the singular spellings. It rejects the plural ones printed in LinkedIn's
# schema table with 422 "is not an enum symbol".
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
ALLOWED_CAMPAIGN_TYPES = ["TEXT_AD", "SPONSORED_UPDATES", "SPONSORED_INMAILS", "DYNAMIC"]
MAX_NAME_LENGTH = 100

GROUP_SCHEMA = record(
    account=Field(STRING, create_only=True),
    name=STRING,
    runSchedule=RUN_SCHEDULE,
    status=enum(*GROUP_STATUSES),
    totalBudget=MONEY,
    dailyBudget=Field(MONEY, since="202504"),
    budgetOptimization=Field(
        record(
            bidStrategy=enum("MAXIMUM_DELIVERY", "MANUAL", "COST_CAP"),
            budgetOptimizationStrategy=enum("DYNAMIC"),
        ),
        since="202501",
    ),
    objectiveType=enum(*OBJECTIVE_TYPES),
    id=Field(LONG, read_only=True),
    test=Field(STRING, read_only=True),
    servingStatuses=Field(array(STRING), read_only=True),
    allowedCampaignTypes=Field(array(STRING), read_only=True),
    backfilled=Field(STRING, read_only=True),
    changeAuditStamps=Field(STRING, read_only=True),
    version=Field(STRING, read_only=True),
)


def group_serving_statuses(ctx: RestContext, group: AdEntity) -> list[str]:
    """Compute servingStatuses from status, schedule, admin holds and the account."""
    now_ms = ctx.state.now_ms()
    account = ctx.state.accounts[group.account_id]
    statuses: list[str] = []
    if group.status != "ACTIVE":
        statuses.append("STOPPED")
    schedule = group.fields.get("runSchedule", {})
    if schedule.get("start", 0) > now_ms:
        statuses.append("CAMPAIGN_GROUP_START_DATE_HOLD")
    if schedule.get("end") is not None and schedule["end"] <= now_ms:
        statuses.append("CAMPAIGN_GROUP_END_DATE_HOLD")
    statuses.extend(group.holds)
    statuses.extend(hold for hold in account.holds if hold not in statuses)
    if account.fields["status"] != "ACTIVE" and "STOPPED" not in statuses:
        statuses.append("STOPPED")
    return statuses or ["RUNNABLE"]


class CampaignGroups(AdResource):
    kind = "campaignGroup"
    resource = "adCampaignGroups"
    label = "campaign group"

    def store(self, ctx: RestContext) -> dict[int, AdEntity]:
        groups: dict[int, AdEntity] = ctx.state.groups
        return groups

    def render(self, ctx: RestContext, entity: AdEntity) -> dict[str, Any]:
        account = ctx.state.accounts[entity.account_id]
        body: dict[str, Any] = {"id": entity.id, **entity.fields}
        body["test"] = account.fields["test"]
        body["servingStatuses"] = group_serving_statuses(ctx, entity)
        body["allowedCampaignTypes"] = list(ALLOWED_CAMPAIGN_TYPES)
        body["backfilled"] = False
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
        """Apply the rules a whole group must meet, on create and after every patch."""
        name = fields.get("name")
        if name is None:
            problems.missing("/name")
        elif len(name) > MAX_NAME_LENGTH:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/name",
                f"/name must be at most {MAX_NAME_LENGTH} characters",
            )
        if "status" not in fields:
            problems.missing("/status")
        currency = account.fields["currency"]
        if "totalBudget" in fields:
            check_money(problems, "/totalBudget", fields["totalBudget"], currency)
        if "dailyBudget" in fields:
            check_money(problems, "/dailyBudget", fields["dailyBudget"], currency)
            strategy = fields.get("budgetOptimization", {}).get("budgetOptimizationStrategy")
            if strategy != "DYNAMIC":
                problems.add(
                    "INVALID_VALUE_FOR_FIELD",
                    "/dailyBudget",
                    "/dailyBudget is only allowed when "
                    "budgetOptimization.budgetOptimizationStrategy is DYNAMIC",
                )
        grace_ms = ctx.sandbox.config.schedule_grace_seconds * 1000
        check_schedule(
            problems,
            fields.get("runSchedule"),
            now_ms=ctx.state.now_ms(),
            grace_ms=grace_ms,
            previous=previous.fields.get("runSchedule") if previous else None,
            is_draft=previous.status == "DRAFT" if previous else True,
            required_end="totalBudget" in fields,
        )

    def new_entity(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> AdEntity:
        raise_schema_problems(body, GROUP_SCHEMA, "create", ctx.version)
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
        if status is not None and status not in GROUP_CREATE_STATUSES:
            problems.add(
                "INVALID_VALUE_FOR_FIELD",
                "/status",
                f"/status {status} can't be set when creating a campaign group",
            )
        self._check_fields(ctx, account, body, problems, previous=None)
        problems.raise_if_any()
        now_ms = ctx.state.now_ms()
        return AdEntity(
            kind=self.kind,
            id=ctx.state.group_ids.next(),
            account_id=account.id,
            fields=dict(body),
            created_at=now_ms,
            created_by=ctx.member,
            modified_at=now_ms,
            modified_by=ctx.member,
        )

    def updated_fields(
        self, ctx: RestContext, account: AdEntity, entity: AdEntity, patch: dict[str, Any]
    ) -> dict[str, Any]:
        raise_schema_problems(patch_schema_body(patch), GROUP_SCHEMA, "partial_update", ctx.version)
        if entity.status in CANCELED_STATUSES:
            raise coded_error(
                400,
                "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS",
                f"Campaign group {entity.id} is {entity.status} and can't be updated",
            )
        fields = apply_patch(entity.fields, patch)
        problems = Problems()
        check_status_change(
            problems, "status", entity.status, fields.get("status", ""), GROUP_TRANSITIONS
        )
        if fields.get("objectiveType") != entity.fields.get("objectiveType"):
            if "objectiveType" in entity.fields:
                problems.add(
                    "INVALID_VALUE_FOR_FIELD",
                    "/objectiveType",
                    "/objectiveType can't be changed after it is set",
                )
        self._check_fields(ctx, account, fields, problems, previous=entity)
        problems.raise_if_any()
        return fields

    def after_update(self, ctx: RestContext, entity: AdEntity, before: dict[str, Any]) -> None:
        """Archive the group's campaigns with it, as LinkedIn does."""
        if entity.status != "ARCHIVED" or before.get("status") == "ARCHIVED":
            return
        group_urn = f"{GROUP_URN}{entity.id}"
        now_ms = ctx.state.now_ms()
        for campaign in ctx.state.campaigns.values():
            if campaign.fields.get("campaignGroup") != group_urn:
                continue
            if campaign.status in {"ACTIVE", "PAUSED", "COMPLETED", "DRAFT"}:
                campaign.fields = {**campaign.fields, "status": "ARCHIVED"}
                campaign.touch(ctx.member, now_ms)

    def check_delete(self, ctx: RestContext, entity: AdEntity) -> None:
        if entity.status != "DRAFT":
            raise coded_error(
                400,
                "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS",
                f"Campaign group {entity.id} is {entity.status}: only DRAFT campaign groups can "
                "be deleted. Set status to PENDING_DELETION instead",
            )

    def delete(self, ctx: RestContext, entity: AdEntity) -> None:
        group_urn = f"{GROUP_URN}{entity.id}"
        campaign_ids = [
            c.id for c in ctx.state.campaigns.values() if c.fields.get("campaignGroup") == group_urn
        ]
        for campaign_id in campaign_ids:
            campaign_urn = f"urn:li:sponsoredCampaign:{campaign_id}"
            for creative_id in [
                c.id
                for c in ctx.state.creatives.values()
                if c.fields.get("campaign") == campaign_urn
            ]:
                del ctx.state.creatives[creative_id]
            del ctx.state.campaigns[campaign_id]
        del ctx.state.groups[entity.id]

    async def search(self, ctx: RestContext, account: AdEntity) -> Response:
        if ctx.params.text("q") != "search":
            raise bad_request(
                f"Unsupported finder q={ctx.params.text('q')!r} on adCampaignGroups: use q=search"
            )
        criteria = search_criteria(ctx, {"id", "status", "name", "test"}, required=False)
        ids = values_criterion(criteria, "id")
        statuses = values_criterion(criteria, "status")
        if statuses is not None:
            statuses = [("CANCELLED" if s == "CANCELED" else s) for s in statuses]
        names = values_criterion(criteria, "name")
        test_value = criteria.get("test")
        test = bool_param(test_value if isinstance(test_value, str) else None, "test criterion")
        descending = ctx.params.text("sortOrder") == "DESCENDING"
        groups = sorted(
            (g for g in ctx.state.groups.values() if g.account_id == account.id),
            key=lambda g: g.id,
            reverse=descending,
        )
        account_test = account.fields["test"]
        matches = [
            g
            for g in groups
            if (ids is None or f"{GROUP_URN}{g.id}" in ids)
            and (statuses is None or g.status in statuses)
            and (names is None or any(n.lower() in g.fields["name"].lower() for n in names))
            and (test is None or test == account_test)
        ]
        return json_response(
            cursor_page(ctx, matches, lambda g: g.id, render=lambda g: self.render(ctx, g))
        )


RESOURCE = CampaignGroups()
