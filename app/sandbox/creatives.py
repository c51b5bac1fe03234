"""Creatives: `/rest/adAccounts/{account}/creatives`, keyed by the encoded creative URN.

Review: a creative that leaves DRAFT is PENDING for `creative_review_seconds` on the sandbox
clock, then APPROVED, or REJECTED when its name contains `#sandbox-reject` or when the admin
route `POST /_sandbox/creatives/{urn}/review` forced an outcome.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse, Response

from app.sandbox.campaigns import campaign_serving_statuses
from app.sandbox.common import (
    CANCELED_STATUSES,
    bool_param,
    cursor_page,
    is_urn,
    parse_urn,
    require_method_header,
    sort_descending,
)
from app.sandbox.entities import AdResource
from app.sandbox.errors import ApiError, bad_request, coded_error
from app.sandbox.protocol import RestContext, json_response
from app.sandbox.state import ACCOUNT_URN, CAMPAIGN_URN, CREATIVE_URN, AdEntity, Media
from app.sandbox.validation import (
    ANY,
    BOOLEAN,
    STRING,
    Field,
    apply_patch,
    enum,
    raise_schema_problems,
    record,
)

INTENDED_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "DRAFT",
    "ARCHIVED",
    "CANCELED",
    "PENDING_DELETION",
    "REMOVED",
)
CREATE_STATUSES = frozenset({"ACTIVE", "PAUSED", "DRAFT"})
_RUNNING = frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "PENDING_DELETION"})
CREATIVE_TRANSITIONS = {
    "DRAFT": frozenset({"DRAFT", "CANCELED"}) | _RUNNING,
    "ACTIVE": _RUNNING | {"CANCELED"},
    "PAUSED": _RUNNING | {"CANCELED"},
    "ARCHIVED": _RUNNING,
    "PENDING_DELETION": frozenset({"PENDING_DELETION"}),
}
CTA_LABELS = (
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
REFERENCE_TYPES = ("share", "ugcPost", "adInMailContent")
MEDIA_URN_TYPES = ("image", "video", "document", "digitalmediaAsset")
REJECT_MARKER = "#sandbox-reject"
UPDATABLE_FIELDS = frozenset({"intendedStatus", "name", "leadgenCallToAction"})
_CREATIVE_KEY = re.compile(r"^urn:li:sponsoredCreative:(\d+)$")

CREATIVE_SCHEMA = record(
    campaign=Field(STRING, create_only=True),
    content=record(
        reference=STRING,
        textAd=ANY,
        spotlight=ANY,
        follower=ANY,
        jobs=ANY,
        eventAd=ANY,
    ),
    inlineContent=ANY,
    intendedStatus=enum(*INTENDED_STATUSES),
    name=Field(STRING, since="202410"),
    leadgenCallToAction=record(destination=STRING, label=enum(*CTA_LABELS)),
    id=Field(STRING, read_only=True),
    account=Field(STRING, read_only=True),
    isServing=Field(BOOLEAN, read_only=True),
    isTest=Field(BOOLEAN, read_only=True),
    createdAt=Field(ANY, read_only=True),
    lastModifiedAt=Field(ANY, read_only=True),
    createdBy=Field(ANY, read_only=True),
    lastModifiedBy=Field(ANY, read_only=True),
    review=Field(ANY, read_only=True),
    servingHoldReasons=Field(ANY, read_only=True),
)


def creative_error(code: str, message: str) -> ApiError:
    return coded_error(400, code, message)


class Creatives(AdResource):
    kind = "creative"
    resource = "creatives"
    label = "creative"

    def store(self, ctx: RestContext) -> dict[int, AdEntity]:
        creatives: dict[int, AdEntity] = ctx.state.creatives
        return creatives

    def key_to_id(self, ctx: RestContext, key: str, raw_key: str) -> int:
        if ":" in raw_key:
            raise bad_request(
                f"Invalid creative key {raw_key!r}: URN keys in the path must be "
                "percent-encoded (urn%3Ali%3AsponsoredCreative%3A<id>)"
            )
        match = _CREATIVE_KEY.match(key)
        if not match:
            raise bad_request(
                f"Invalid creative key {key!r}: expected urn:li:sponsoredCreative:<id>"
            )
        return int(match.group(1))

    def key_of(self, entity: AdEntity) -> str:
        return f"{CREATIVE_URN}{entity.id}"

    def path_key(self, entity: AdEntity) -> str:
        return self.key_of(entity).replace(":", "%3A")

    # Review and serving state, computed on the sandbox clock at read time.

    def review(self, ctx: RestContext, entity: AdEntity) -> dict[str, Any] | None:
        if entity.review_started_at is None:
            return None
        override = entity.review_override
        if override is not None and override.get("immediate"):
            return _review_body(override)
        ends_at = entity.review_started_at + ctx.sandbox.config.creative_review_seconds
        if ctx.state.now() < ends_at:
            return {"status": "PENDING"}
        if override is not None:
            return _review_body(override)
        if REJECT_MARKER in str(entity.fields.get("name", "")).lower():
            return {"status": "REJECTED", "rejectionReasons": ["MISLEADING_CLAIMS"]}
        return {"status": "APPROVED"}

    def media_of(self, ctx: RestContext, entity: AdEntity) -> Media | None:
        reference = entity.fields.get("content", {}).get("reference")
        post = ctx.state.posts.get(reference) if reference else None
        media_urn = post.get("media") if post else None
        media: Media | None = ctx.state.media.get(media_urn) if media_urn else None
        return media

    def hold_reasons(
        self, ctx: RestContext, entity: AdEntity, review: dict[str, Any] | None
    ) -> list[str]:
        reasons: list[str] = []
        if entity.status != "ACTIVE":
            reasons.append("STOPPED")
        if review is not None:
            if review["status"] in {"PENDING", "NEEDS_REVIEW"}:
                reasons.append("UNDER_REVIEW")
            elif review["status"] == "REJECTED":
                reasons.append("REJECTED")
        media = self.media_of(ctx, entity)
        if media is not None:
            status = media.status(ctx.state.now(), ctx.sandbox.config.media_processing_seconds)
            if status in {"PROCESSING", "WAITING_UPLOAD"}:
                reasons.append("PROCESSING")
            elif status == "PROCESSING_FAILED":
                reasons.append("PROCESSING_FAILED")
        reasons.extend(entity.holds)
        campaign = ctx.state.campaigns.get(_campaign_id(entity.fields["campaign"]))
        if campaign is not None:
            if campaign.status != "ACTIVE":
                reasons.append("CAMPAIGN_STOPPED")
            for status in campaign_serving_statuses(ctx, campaign):
                if status not in {"RUNNABLE", "STOPPED"} and status not in reasons:
                    reasons.append(status)
        return reasons

    def render(self, ctx: RestContext, entity: AdEntity) -> dict[str, Any]:
        account = ctx.state.accounts[entity.account_id]
        review = self.review(ctx, entity)
        reasons = self.hold_reasons(ctx, entity, review)
        body: dict[str, Any] = {
            "id": self.key_of(entity),
            "account": f"{ACCOUNT_URN}{entity.account_id}",
            **entity.fields,
            "isServing": not reasons,
            "isTest": account.fields["test"],
            "createdAt": entity.created_at,
            "createdBy": entity.created_by,
            "lastModifiedAt": entity.modified_at,
            "lastModifiedBy": entity.modified_by,
        }
        if review is not None:
            body["review"] = review
        if reasons:
            body["servingHoldReasons"] = reasons
        return body

    # Create, update, delete.

    def _inline_post(self, ctx: RestContext, account: AdEntity, inline: Any) -> str:
        """Validate inline post content, store the post, and return its URN."""
        post = inline.get("post") if isinstance(inline, dict) else None
        if not isinstance(post, dict):
            raise creative_error("MISSING_FIELD", "/inlineContent/post is required")
        author = post.get("author")
        member = ctx.state.members[ctx.member]
        if not is_urn(author, "organization", "person"):
            raise creative_error(
                "INVALID_VALUE_FOR_FIELD",
                f"/inlineContent/post/author {author!r} must be an organization or person URN",
            )
        if author != ctx.member and author not in member.organizations:
            raise coded_error(403, "ACCESS_DENIED", f"Member can't post as {author}", 100)

        media_urn = None
        content = post.get("content")
        if content is not None:
            media = content.get("media") if isinstance(content, dict) else None
            media_urn = media.get("id") if isinstance(media, dict) else None
            if not is_urn(media_urn, *MEDIA_URN_TYPES):
                raise creative_error(
                    "INVALID_VALUE_FOR_FIELD",
                    "/inlineContent/post/content/media/id must be an image, video or document URN",
                )
            if media_urn not in ctx.state.media:
                raise creative_error(
                    "INVALID_VALUE_FOR_FIELD",
                    f"/inlineContent/post/content/media/id {media_urn} does not exist",
                )

        prefix = "urn:li:ugcPost:" if media_urn and ":video:" in media_urn else "urn:li:share:"
        urn = f"{prefix}{ctx.state.post_ids.next()}"
        ctx.state.posts[urn] = {
            "author": author,
            "commentary": post.get("commentary", ""),
            "media": media_urn,
            "account": account.id,
        }
        return urn

    def new_entity(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> AdEntity:
        raise_schema_problems(body, CREATIVE_SCHEMA, "create", ctx.version)
        if "campaign" not in body:
            raise creative_error("MISSING_FIELD", "/campaign is required but missing")
        campaign_id = parse_urn(body["campaign"], "sponsoredCampaign", "campaign")
        campaign = ctx.state.campaigns.get(campaign_id)
        if campaign is None or campaign.account_id != account.id:
            raise creative_error(
                "INVALID_VALUE_FOR_FIELD",
                f"/campaign {body['campaign']} does not exist in ad account {account.id}",
            )

        if "intendedStatus" not in body:
            raise creative_error("MISSING_FIELD", "/intendedStatus is required but missing")
        status = body["intendedStatus"]
        if status not in CREATE_STATUSES:
            raise creative_error(
                "INVALID_VALUE_FOR_FIELD",
                f"/intendedStatus {status} can't be set when creating a creative",
            )
        has_content = "content" in body
        has_inline = "inlineContent" in body
        if has_content == has_inline:
            raise creative_error(
                "MISSING_FIELD", "Exactly one of /content and /inlineContent is required"
            )

        fields = {key: value for key, value in body.items() if key != "inlineContent"}
        if has_inline:
            fields["content"] = {
                "reference": self._inline_post(ctx, account, body["inlineContent"])
            }
        else:
            content = body["content"]
            if len(content) != 1:
                raise creative_error(
                    "INVALID_VALUE_FOR_FIELD",
                    "/content must hold exactly one of reference, textAd, "
                    "spotlight, follower, jobs or eventAd",
                )
            reference = content.get("reference")
            if "reference" in content and not is_urn(reference, *REFERENCE_TYPES):
                raise creative_error(
                    "INVALID_VALUE_FOR_FIELD",
                    f"/content/reference {reference!r} must be a share, ugcPost "
                    "or adInMailContent URN",
                )

        now_ms = ctx.state.now_ms()
        entity = AdEntity(
            kind=self.kind,
            id=ctx.state.creative_ids.next(),
            account_id=account.id,
            fields=fields,
            created_at=now_ms,
            created_by=ctx.member,
            modified_at=now_ms,
            modified_by=ctx.member,
        )
        if status != "DRAFT":
            entity.review_started_at = ctx.state.now()
        return entity

    def updated_fields(
        self, ctx: RestContext, account: AdEntity, entity: AdEntity, patch: dict[str, Any]
    ) -> dict[str, Any]:
        set_fields = patch.get("$set", {})
        raise_schema_problems(
            set_fields if isinstance(set_fields, dict) else {},
            CREATIVE_SCHEMA,
            "partial_update",
            ctx.version,
        )
        if entity.status in CANCELED_STATUSES:
            raise creative_error(
                "ACTION_NOT_ALLOWED_FOR_CANCELLED_STATUS", "Cannot update a canceled creative"
            )
        fields = apply_patch(entity.fields, patch)
        changed = {
            key
            for key in set(fields) | set(entity.fields)
            if fields.get(key) != entity.fields.get(key)
        }
        not_updatable = sorted(changed - UPDATABLE_FIELDS)
        if not_updatable:
            raise creative_error(
                "FIELD_NOT_UPDATABLE",
                f"Field(s) {', '.join(not_updatable)} can't be updated. Only "
                "intendedStatus, name and leadgenCallToAction can",
            )
        if "leadgenCallToAction" in changed and entity.status != "DRAFT":
            raise creative_error(
                "FIELD_NOT_UPDATABLE",
                "/leadgenCallToAction can only be changed while the creative is DRAFT",
            )
        before, after = entity.status, fields.get("intendedStatus", "")
        if before != after and after not in CREATIVE_TRANSITIONS.get(before, frozenset()):
            raise creative_error(
                "STATUS_CHANGE_NOT_ALLOWED",
                f"intendedStatus can't be changed from {before} to {after}",
            )
        if before == "DRAFT" and after != "DRAFT" and entity.review_started_at is None:
            entity.review_started_at = ctx.state.now()
        return fields

    def check_delete(self, ctx: RestContext, entity: AdEntity) -> None:
        campaign = ctx.state.campaigns.get(_campaign_id(entity.fields["campaign"]))
        media = self.media_of(ctx, entity)
        failed_video = (
            media is not None
            and media.kind == "video"
            and media.status(ctx.state.now(), ctx.sandbox.config.media_processing_seconds)
            == "PROCESSING_FAILED"
        )
        if entity.status == "DRAFT" or (campaign and campaign.status == "DRAFT") or failed_video:
            return
        raise creative_error(
            "DELETE_ALLOWED_ONLY_FOR_DRAFT_STATUS",
            f"Creative {self.key_of(entity)} is {entity.status}: only DRAFT creatives can be "
            "deleted. Set intendedStatus to PENDING_DELETION instead",
        )

    async def action(self, ctx: RestContext, account: AdEntity, name: str) -> Response:
        if name != "createInline":
            raise bad_request(f"Unsupported action {name!r} on creatives")
        body = await ctx.json_body()
        creative = body.get("creative")
        if set(body) != {"creative"} or not isinstance(creative, dict):
            raise bad_request('The createInline body must be {"creative": {...}}')
        entity = self.create_one(ctx, account, creative)
        urn = self.key_of(entity)
        return JSONResponse(
            {"value": {"creative": urn}},
            status_code=201,
            headers={
                "x-restli-id": urn,
                "x-linkedin-id": urn,
                "Location": self.location(account, entity),
            },
        )

    async def search(self, ctx: RestContext, account: AdEntity) -> Response:
        if ctx.params.text("q") != "criteria":
            raise bad_request(
                f"Unsupported finder q={ctx.params.text('q')!r} on creatives: use q=criteria"
            )
        require_method_header(ctx, "FINDER")
        campaigns = self._urn_list(ctx, "campaigns", "sponsoredCampaign")
        creative_ids = self._urn_list(ctx, "creatives", "sponsoredCreative")
        references = self._urn_list(ctx, "contentReferences", None)
        statuses = self._text_list(ctx, "intendedStatuses")
        is_test = bool_param(ctx.params.text("isTestAccount"), "isTestAccount")
        include_total = bool_param(ctx.params.text("isTotalIncluded"), "isTotalIncluded")
        descending = sort_descending(ctx)
        items = sorted(
            (c for c in ctx.state.creatives.values() if c.account_id == account.id),
            key=lambda c: c.id,
            reverse=descending,
        )
        matches = [
            c
            for c in items
            if (campaigns is None or c.fields["campaign"] in campaigns)
            and (creative_ids is None or self.key_of(c) in creative_ids)
            and (references is None or c.fields.get("content", {}).get("reference") in references)
            and (statuses is None or c.status in statuses)
            and (is_test is None or is_test == account.fields["test"])
        ]
        page = cursor_page(
            ctx,
            matches,
            lambda c: c.id,
            maximum=100,
            default=100,
            render=lambda c: self.render(ctx, c),
        )
        if include_total:
            page["metadata"]["totalResultCount"] = len(matches)
        return json_response(page)

    def _text_list(self, ctx: RestContext, name: str) -> list[str] | None:
        value = ctx.params.value(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"Invalid {name}: expected {name}=List(...)")
        return value

    def _urn_list(self, ctx: RestContext, name: str, urn_type: str | None) -> list[str] | None:
        values = self._text_list(ctx, name)
        for value in values or []:
            if not is_urn(value, *([urn_type] if urn_type else [])):
                raise bad_request(
                    f"Invalid {name} value {value!r}: expected a URN"
                    + (f" urn:li:{urn_type}:<id>" if urn_type else "")
                )
        return values


def _campaign_id(urn: str) -> int:
    suffix = urn[len(CAMPAIGN_URN) :]
    return int(suffix) if suffix.isdigit() else -1


def _review_body(override: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"status": override["status"]}
    if override["status"] == "REJECTED":
        body["rejectionReasons"] = list(override.get("rejectionReasons") or [])
    return body


RESOURCE = Creatives()
