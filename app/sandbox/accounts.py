"""Ad accounts (`/rest/adAccounts`) and account users (`/rest/adAccountUsers`)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.sandbox.common import (
    CANCELED_STATUSES,
    batch_get_response,
    bool_param,
    cursor_page,
    ids_param,
    load_account,
    parse_long,
    parse_urn,
    require_method_header,
    search_criteria,
    values_criterion,
)
from app.sandbox.errors import bad_request, coded_error, not_found
from app.sandbox.protocol import (
    RestContext,
    RestRouter,
    created_response,
    json_response,
    no_content,
)
from app.sandbox.state import ACCOUNT_URN, AdEntity
from app.sandbox.validation import (
    BOOLEAN,
    STRING,
    Field,
    Problems,
    apply_patch,
    check_status_change,
    enum,
    parse_patch,
    patch_schema_body,
    raise_schema_problems,
    record,
)

ACCOUNT_STATUSES = ("ACTIVE", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED")
ACCOUNT_TRANSITIONS = {
    "DRAFT": frozenset({"ACTIVE", "CANCELED", "PENDING_DELETION"}),
    "ACTIVE": frozenset({"CANCELED", "PENDING_DELETION"}),
}
ACCOUNT_SCHEMA = record(
    name=STRING,
    currency=Field(STRING, create_only=True),
    status=enum(*ACCOUNT_STATUSES),
    type=Field(enum("BUSINESS", "ENTERPRISE"), create_only=True),
    reference=STRING,
    test=Field(BOOLEAN, create_only=True),
    notifiedOnCampaignOptimization=BOOLEAN,
    notifiedOnCreativeApproval=BOOLEAN,
    notifiedOnCreativeRejection=BOOLEAN,
    notifiedOnEndOfCampaign=BOOLEAN,
    notifiedOnNewFeaturesEnabled=BOOLEAN,
    id=Field(STRING, read_only=True),
    servingStatuses=Field(STRING, read_only=True),
    changeAuditStamps=Field(STRING, read_only=True),
    version=Field(STRING, read_only=True),
)


def account_serving_statuses(account: AdEntity) -> list[str]:
    if account.fields["status"] == "ACTIVE" and not account.holds:
        return ["RUNNABLE"]
    statuses = [] if account.fields["status"] == "ACTIVE" else ["STOPPED"]
    return statuses + list(account.holds)


def render_account(account: AdEntity) -> dict[str, Any]:
    body: dict[str, Any] = {"id": account.id, **account.fields}
    body["servingStatuses"] = account_serving_statuses(account)
    body["changeAuditStamps"] = account.audit_stamps()
    body["version"] = {"versionTag": str(account.version)}
    return body


def _matches(account: AdEntity, criteria: dict[str, Any]) -> bool:
    fields = account.fields
    ids = values_criterion(criteria, "id")
    if ids is not None and f"{ACCOUNT_URN}{account.id}" not in ids:
        return False
    names = values_criterion(criteria, "name")
    # NOTE: LinkedIn does not document how `name` matches. This uses a case-insensitive substring.
    if names is not None and not any(n.lower() in fields["name"].lower() for n in names):
        return False
    references = values_criterion(criteria, "reference")
    if references is not None and fields.get("reference") not in references:
        return False
    statuses = values_criterion(criteria, "status")
    if statuses is not None and fields["status"] not in statuses:
        return False
    types = values_criterion(criteria, "type")
    if types is not None and fields["type"] not in types:
        return False
    if "test" in criteria:
        test = criteria["test"]
        if not isinstance(test, str):
            raise bad_request("Invalid search criterion test: expected test:true or test:false")
        if fields["test"] != bool_param(test, "test criterion"):
            return False
    return True


async def get_accounts(ctx: RestContext) -> Response:
    finder = ctx.params.text("q")
    if finder is None and "ids" in ctx.params:
        return _batch_get_accounts(ctx)
    if finder != "search":
        raise bad_request(f"Unsupported finder q={finder!r} on adAccounts: use q=search")
    criteria = search_criteria(ctx, {"id", "name", "reference", "status", "type", "test"}, False)
    accounts = [a for a in ctx.state.member_accounts(ctx.member) if _matches(a, criteria)]
    return json_response(cursor_page(ctx, accounts, lambda a: a.id, render=render_account))


def _batch_get_accounts(ctx: RestContext) -> Response:
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for key in ids_param(ctx):
        account = ctx.state.accounts.get(int(key)) if key.isdigit() else None
        if account is None or (account.id, ctx.member) not in ctx.state.roles:
            missing.append(key)
        else:
            found[key] = render_account(account)
    return json_response(batch_get_response(found, missing))


async def get_account(ctx: RestContext) -> Response:
    account = load_account(ctx, ctx.path_params["account"], "GET", write=False)
    return json_response(render_account(account))


async def create_account(ctx: RestContext) -> Response:
    body = await ctx.json_body()
    raise_schema_problems(body, ACCOUNT_SCHEMA, "create", ctx.version)
    problems = Problems()
    for name in ("name", "reference", "type"):
        if name not in body:
            problems.missing(f"/{name}")
    reference = body.get("reference")
    member = ctx.state.members[ctx.member]
    if reference is not None and reference != ctx.member and reference not in member.organizations:
        problems.add(
            "INVALID_VALUE_FOR_FIELD",
            "/reference",
            f"/reference {reference} is not an organization the member administers",
        )
    if body.get("type", "BUSINESS") != "BUSINESS":
        problems.add("INVALID_VALUE_FOR_FIELD", "/type", "/type must be BUSINESS")
    status = body.get("status", "ACTIVE")
    if status not in {"ACTIVE", "DRAFT"}:
        problems.add(
            "INVALID_VALUE_FOR_FIELD", "/status", f"/status {status} is not allowed on create"
        )
    problems.raise_if_any()

    if body.get("test"):
        if any(a.fields["test"] for a in ctx.state.accounts.values()):
            raise coded_error(
                400, "TEST_ACCOUNT_LIMIT_REACHED", "The application already has a test ad account"
            )

    now_ms = ctx.state.now_ms()
    account = AdEntity(
        kind="account",
        id=ctx.state.account_ids.next(),
        account_id=0,
        fields={
            "name": body["name"],
            "currency": body.get("currency", "USD"),
            "status": status,
            "type": "BUSINESS",
            "reference": reference,
            "test": bool(body.get("test", False)),
            "notifiedOnCampaignOptimization": body.get("notifiedOnCampaignOptimization", True),
            "notifiedOnCreativeApproval": body.get("notifiedOnCreativeApproval", True),
            "notifiedOnCreativeRejection": body.get("notifiedOnCreativeRejection", True),
            "notifiedOnEndOfCampaign": body.get("notifiedOnEndOfCampaign", True),
            "notifiedOnNewFeaturesEnabled": body.get("notifiedOnNewFeaturesEnabled", False),
        },
        created_at=now_ms,
        created_by=ctx.member,
        modified_at=now_ms,
        modified_by=ctx.member,
    )
    account.account_id = account.id
    ctx.state.accounts[account.id] = account
    ctx.state.roles[(account.id, ctx.member)] = "ACCOUNT_BILLING_ADMIN"

    group = AdEntity(
        kind="campaignGroup",
        id=ctx.state.group_ids.next(),
        account_id=account.id,
        fields={
            "account": f"{ACCOUNT_URN}{account.id}",
            "name": "Default Campaign Group",
            "status": "ACTIVE" if status == "ACTIVE" else "DRAFT",
            "runSchedule": {"start": now_ms},
        },
        created_at=now_ms,
        created_by=ctx.member,
        modified_at=now_ms,
        modified_by=ctx.member,
    )
    ctx.state.groups[group.id] = group
    location = f"/rest/adAccounts/{account.id}"
    return created_response(str(account.id), location)


async def update_account(ctx: RestContext) -> Response:
    require_method_header(ctx, "PARTIAL_UPDATE")
    account = load_account(ctx, ctx.path_params["account"], "PARTIAL_UPDATE", write=True)
    patch = parse_patch(await ctx.json_body())
    raise_schema_problems(patch_schema_body(patch), ACCOUNT_SCHEMA, "partial_update", ctx.version)
    updated = apply_patch(account.fields, patch)
    problems = Problems()
    before, after = account.fields["status"], updated["status"]
    if before in CANCELED_STATUSES and updated != account.fields:
        raise coded_error(
            400,
            "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS",
            f"Ad account {account.id} is {before} and can't be changed",
        )
    check_status_change(problems, "status", before, after, ACCOUNT_TRANSITIONS)
    problems.raise_if_any()
    if updated != account.fields:
        account.fields = updated
        account.touch(ctx.member, ctx.state.now_ms())
    return no_content()


async def delete_account(ctx: RestContext) -> Response:
    account = load_account(ctx, ctx.path_params["account"], "DELETE", write=True)
    if account.fields["status"] != "DRAFT":
        raise coded_error(
            400,
            "DELETE_NOT_ALLOWED",
            f"Ad account {account.id} is {account.fields['status']}: only DRAFT "
            "accounts can be deleted",
        )
    for store in (ctx.state.groups, ctx.state.campaigns, ctx.state.creatives):
        for entity_id in [e.id for e in store.values() if e.account_id == account.id]:
            del store[entity_id]
    del ctx.state.accounts[account.id]
    for key in [key for key in ctx.state.roles if key[0] == account.id]:
        del ctx.state.roles[key]
    return no_content()


def _account_user(ctx: RestContext, account_id: int, member: str) -> dict[str, Any]:
    account = ctx.state.accounts[account_id]
    return {
        "account": f"{ACCOUNT_URN}{account_id}",
        "user": member,
        "role": ctx.state.roles[(account_id, member)],
        "changeAuditStamps": account.audit_stamps(),
    }


async def get_account_users(ctx: RestContext) -> Response:
    finder = ctx.params.text("q")
    if finder == "authenticatedUser":
        rows = [_account_user(ctx, a.id, ctx.member) for a in ctx.state.member_accounts(ctx.member)]
    elif finder == "accounts":
        value = ctx.params.value("accounts")
        first = value[0] if isinstance(value, list) and value else value
        account_id = parse_urn(first, "sponsoredAccount", "accounts parameter")
        if account_id not in ctx.state.accounts:
            raise not_found(f"Ad account {account_id} does not exist")
        if (account_id, ctx.member) not in ctx.state.roles:
            raise ctx.denied("FINDER-accounts")
        members = sorted(user for acct, user in ctx.state.roles if acct == account_id)
        rows = [_account_user(ctx, account_id, user) for user in members]
    else:
        raise bad_request(f"Unsupported finder q={finder!r} on adAccountUsers")
    start_text = ctx.params.text("start") or "0"
    count_text = ctx.params.text("count") or "10"
    start = parse_long(start_text, "start")
    count = parse_long(count_text, "count")
    if count > 1000:
        raise bad_request("Specified count is larger than 1000")
    page = rows[start : start + count]
    return json_response(
        {
            "elements": page,
            "paging": {"start": start, "count": count, "links": [], "total": len(rows)},
        }
    )


def register(router: RestRouter) -> None:
    router.add("adAccounts", "GET", get_accounts, resource="adAccounts", scope="read")
    router.add("adAccounts", "POST", create_account, resource="adAccounts", scope="write")
    router.add("adAccounts/{account}", "GET", get_account, resource="adAccounts", scope="read")
    router.add("adAccounts/{account}", "POST", update_account, resource="adAccounts", scope="write")
    router.add(
        "adAccounts/{account}", "DELETE", delete_account, resource="adAccounts", scope="write"
    )
    router.add("adAccountUsers", "GET", get_account_users, resource="adAccountUsers", scope="read")
