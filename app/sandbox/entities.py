"""The Rest.li method set shared by campaign groups, campaigns and creatives under an ad account.

Each resource subclasses `AdResource` and supplies validation, rendering and search. This module
maps the Rest.li methods onto those hooks: CREATE, BATCH_CREATE, GET, BATCH_GET, FINDER,
PARTIAL_UPDATE, BATCH_PARTIAL_UPDATE, DELETE, BATCH_DELETE and ACTION.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.sandbox.common import (
    batch_get_response,
    batch_update_body,
    error_entry,
    ids_param,
    load_account,
    reject_if_account_closed,
    require_method_header,
)
from app.sandbox.errors import ApiError, bad_request, not_found
from app.sandbox.protocol import (
    RestContext,
    RestRouter,
    created_response,
    json_response,
    no_content,
)
from app.sandbox.state import AdEntity
from app.sandbox.validation import parse_patch


class AdResource:
    """One account-scoped ads resource, whose subclasses fill in the hooks."""

    kind = ""
    resource = ""
    label = ""

    def store(self, ctx: RestContext) -> dict[int, AdEntity]:
        raise NotImplementedError

    def key_to_id(self, ctx: RestContext, key: str, raw_key: str) -> int:
        """Turn a path or ids=List key into a numeric id, raising 400 for a malformed key."""
        if not key.isdigit():
            raise bad_request(f"Invalid {self.label} id {key!r}: expected a numeric id")
        return int(key)

    def key_of(self, entity: AdEntity) -> str:
        """Return the key used in x-restli-id, batch maps and paths."""
        return str(entity.id)

    def path_key(self, entity: AdEntity) -> str:
        return self.key_of(entity)

    def render(self, ctx: RestContext, entity: AdEntity) -> dict[str, Any]:
        raise NotImplementedError

    def new_entity(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> AdEntity:
        """Validate a create body and return the entity, not yet stored."""
        raise NotImplementedError

    def updated_fields(
        self, ctx: RestContext, account: AdEntity, entity: AdEntity, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """Validate a patch and return the complete new field set."""
        raise NotImplementedError

    def after_update(self, ctx: RestContext, entity: AdEntity, before: dict[str, Any]) -> None:
        return None

    def check_delete(self, ctx: RestContext, entity: AdEntity) -> None:
        raise NotImplementedError

    def delete(self, ctx: RestContext, entity: AdEntity) -> None:
        del self.store(ctx)[entity.id]

    async def search(self, ctx: RestContext, account: AdEntity) -> Response:
        raise NotImplementedError

    async def action(self, ctx: RestContext, account: AdEntity, name: str) -> Response:
        raise bad_request(f"Unsupported action {name!r} on {self.resource}")

    # Helpers used by the handlers below.

    def find(self, ctx: RestContext, account: AdEntity, key: str, raw_key: str) -> AdEntity:
        entity_id = self.key_to_id(ctx, key, raw_key)
        entity = self.store(ctx).get(entity_id)
        if entity is None or entity.account_id != account.id:
            raise not_found(
                f"{self.label.capitalize()} {key} does not exist in ad account {account.id}"
            )
        return entity

    def location(self, account: AdEntity, entity: AdEntity) -> str:
        return f"/rest/adAccounts/{account.id}/{self.resource}/{self.path_key(entity)}"

    def create_one(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> AdEntity:
        entity = self.new_entity(ctx, account, body)
        self.store(ctx)[entity.id] = entity
        return entity

    def update_one(
        self, ctx: RestContext, account: AdEntity, entity: AdEntity, body: dict[str, Any]
    ) -> None:
        patch = parse_patch(body)
        fields = self.updated_fields(ctx, account, entity, patch)
        before = entity.fields
        entity.fields = fields
        entity.touch(ctx.member, ctx.state.now_ms())
        self.after_update(ctx, entity, before)

    # Request handlers.

    async def get_collection(self, ctx: RestContext) -> Response:
        if "q" in ctx.params:
            account = load_account(
                ctx, ctx.path_params["account"], f"FINDER-{ctx.params.text('q')}", write=False
            )
            return await self.search(ctx, account)
        if "ids" in ctx.params:
            account = load_account(ctx, ctx.path_params["account"], "BATCH_GET", write=False)
            found: dict[str, dict[str, Any]] = {}
            missing: list[str] = []
            for key in ids_param(ctx):
                try:
                    entity = self.find(ctx, account, key, key)
                except ApiError:
                    missing.append(key)
                    continue
                found[key] = self.render(ctx, entity)
            return json_response(batch_get_response(found, missing))
        raise bad_request(f"GET on {self.resource} needs q=<finder> or ids=List(...)")

    async def post_collection(self, ctx: RestContext) -> Response:
        action = ctx.params.text("action")
        if ctx.restli_method == "BATCH_PARTIAL_UPDATE" or "ids" in ctx.params:
            require_method_header(ctx, "BATCH_PARTIAL_UPDATE")
            return await self._batch_update(ctx)
        account = load_account(
            ctx, ctx.path_params["account"], f"ACTION-{action}" if action else "CREATE", write=True
        )
        reject_if_account_closed(account)
        if action is not None:
            return await self.action(ctx, account, action)
        body = await ctx.json_body()
        if ctx.restli_method == "BATCH_CREATE":
            return self._batch_create(ctx, account, body)
        entity = self.create_one(ctx, account, body)
        return created_response(self.key_of(entity), self.location(account, entity))

    def _batch_create(self, ctx: RestContext, account: AdEntity, body: dict[str, Any]) -> Response:
        elements = body.get("elements")
        if set(body) != {"elements"} or not isinstance(elements, list):
            raise bad_request('A batch create body must be {"elements": [...]}')
        results: list[dict[str, Any]] = []
        for element in elements:
            try:
                if not isinstance(element, dict):
                    raise bad_request("Each batch create element must be a JSON object")
                entity = self.create_one(ctx, account, element)
            except ApiError as error:
                results.append({"status": error.status, "error": error_entry(error)})
                continue
            results.append({"status": 201, "id": self.key_of(entity)})
        return json_response({"elements": results})

    async def _batch_update(self, ctx: RestContext) -> Response:
        account = load_account(ctx, ctx.path_params["account"], "BATCH_PARTIAL_UPDATE", write=True)
        keys = ids_param(ctx)
        entities = batch_update_body(await ctx.json_body())
        if set(entities) != set(keys):
            raise bad_request("The ids parameter and the keys of entities must be the same")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key in keys:
            try:
                reject_if_account_closed(account)
                entity = self.find(ctx, account, key, key)
                patch_body = entities[key]
                if not isinstance(patch_body, dict):
                    raise bad_request(f"The entity {key} must be a JSON object")
                self.update_one(ctx, account, entity, patch_body)
            except ApiError as error:
                errors[key] = error_entry(error)
                continue
            results[key] = {"status": 204}
        return json_response({"results": results, "errors": errors})

    async def delete_collection(self, ctx: RestContext) -> Response:
        if "ids" not in ctx.params:
            raise bad_request(f"DELETE on {self.resource} needs ids=List(...)")
        account = load_account(ctx, ctx.path_params["account"], "BATCH_DELETE", write=True)
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key in ids_param(ctx):
            try:
                entity = self.find(ctx, account, key, key)
                self.check_delete(ctx, entity)
                self.delete(ctx, entity)
            except ApiError as error:
                errors[key] = error_entry(error)
                continue
            results[key] = {"status": 204}
        return json_response({"results": results, "errors": errors})

    async def get_entity(self, ctx: RestContext) -> Response:
        account = load_account(ctx, ctx.path_params["account"], "GET", write=False)
        entity = self.find(ctx, account, ctx.path_params["key"], ctx.raw_path_params["key"])
        return json_response(self.render(ctx, entity))

    async def post_entity(self, ctx: RestContext) -> Response:
        require_method_header(ctx, "PARTIAL_UPDATE")
        account = load_account(ctx, ctx.path_params["account"], "PARTIAL_UPDATE", write=True)
        entity = self.find(ctx, account, ctx.path_params["key"], ctx.raw_path_params["key"])
        reject_if_account_closed(account)
        self.update_one(ctx, account, entity, await ctx.json_body())
        return no_content()

    async def delete_entity(self, ctx: RestContext) -> Response:
        account = load_account(ctx, ctx.path_params["account"], "DELETE", write=True)
        entity = self.find(ctx, account, ctx.path_params["key"], ctx.raw_path_params["key"])
        self.check_delete(ctx, entity)
        self.delete(ctx, entity)
        return no_content()

    def register(self, router: RestRouter) -> None:
        collection = f"adAccounts/{{account}}/{self.resource}"
        item = f"{collection}/{{key}}"
        name = self.resource
        router.add(collection, "GET", self.get_collection, resource=name, scope="read")
        router.add(collection, "POST", self.post_collection, resource=name, scope="write")
        router.add(collection, "DELETE", self.delete_collection, resource=name, scope="write")
        router.add(item, "GET", self.get_entity, resource=name, scope="read")
        router.add(item, "POST", self.post_entity, resource=name, scope="write")
        router.add(item, "DELETE", self.delete_entity, resource=name, scope="write")
