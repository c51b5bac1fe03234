"""Rules every `/rest` (and legacy `/v2`) call goes through: version, token, scope, quota,
routing by Rest.li path, and LinkedIn's response shapes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.sandbox.errors import (
    ApiError,
    access_denied,
    bad_request,
    coded_error,
    not_found,
    restli_error,
)
from app.sandbox.faults import throttle_error
from app.sandbox.restli import QueryParams, RestliSyntaxError
from app.sandbox.runtime import Sandbox, get_sandbox
from app.sandbox.state import SandboxState, Token

VERSION_MISSING_BODY = {
    "status": 400,
    "code": "VERSION_MISSING",
    "message": (
        "A version must be present. Please specify a version by adding the LinkedIn-Version header."
    ),
}

# Scope groups: a route declares one, and the token needs any scope of that group.
SCOPE_GROUPS: dict[str, frozenset[str]] = {
    "read": frozenset({"r_ads", "rw_ads"}),
    "write": frozenset({"rw_ads"}),
    "reporting": frozenset({"r_ads_reporting"}),
    "media_read": frozenset(
        {"r_ads", "rw_ads", "r_organization_social", "w_organization_social", "w_member_social"}
    ),
    "media_write": frozenset({"rw_ads", "w_organization_social", "w_member_social"}),
}

_VERSION_PATTERN = re.compile(r"^\d{6}(\d{2})?$")
logger = logging.getLogger("app.sandbox")


def version_not_active(raw: str) -> ApiError:
    echoed = f"{raw}01" if len(raw) == 6 else raw
    return coded_error(426, "NONEXISTENT_VERSION", f"Requested version {echoed} is not active")


def check_version(request: Request, sandbox: Sandbox) -> str:
    """Return the request's version as YYYYMM, or raise 400/426 as LinkedIn's gateway does."""
    raw = request.headers.get("linkedin-version")
    if raw is None or not raw.strip():
        raise ApiError(400, dict(VERSION_MISSING_BODY), {"X-Restli-Gateway-Error": "true"})
    raw = raw.strip()
    if not _VERSION_PATTERN.match(raw) or raw[:6] not in sandbox.config.active_versions:
        raise version_not_active(raw)
    return raw[:6]


def authenticate(request: Request, sandbox: Sandbox) -> Token:
    """Return the bearer token's record, or raise LinkedIn's 401 for what is wrong with it."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if not header.strip() or (scheme.lower() == "bearer" and not value.strip()):
        raise coded_error(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2_access_token", 401)
    if scheme.lower() != "bearer":
        raise coded_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
    token = sandbox.state.tokens.get(value.strip())
    if token is None or token.kind != "access":
        raise coded_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
    state = token.state(sandbox.state.now())
    if state == "revoked":
        # NOTE: code and text follow reports of LinkedIn's revoked-token response, not its docs.
        raise coded_error(
            401,
            "REVOKED_ACCESS_TOKEN",
            "The token used in the request has been revoked by the user",
            65601,
        )
    if state == "expired":
        raise coded_error(401, "EXPIRED_ACCESS_TOKEN", "Expired access token", 65602)
    return token


@dataclass
class RestContext:
    """Everything a resource handler needs about one authenticated request."""

    request: Request
    sandbox: Sandbox
    token: Token
    version: str | None
    params: QueryParams
    path_params: dict[str, str]
    raw_path_params: dict[str, str]
    resource: str
    restli_method: str | None
    _body: bytes | None = field(default=None, repr=False)

    @property
    def member(self) -> str:
        return self.token.member

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    @property
    def version8(self) -> str:
        return f"{self.version}01" if self.version else "NO_VERSION"

    def version_at_least(self, version: str) -> bool:
        return self.version is None or self.version >= version

    def denied(self, method: str) -> ApiError:
        return access_denied(self.resource, method, self.version8)

    async def body_bytes(self) -> bytes:
        if self._body is None:
            self._body = await self.request.body()
        return self._body

    async def json_body(self) -> Any:
        """Parse the JSON request body, raising LinkedIn-style 400/415 errors."""
        content_type = self.request.headers.get("content-type", "")
        if content_type and "json" not in content_type.lower():
            raise restli_error(
                415, f"Unsupported Content-Type {content_type!r}: send application/json"
            )
        raw = await self.body_bytes()
        if not raw.strip():
            raise bad_request("The request body is empty: a JSON object is required")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise bad_request(f"Cannot parse the request body as JSON: {error}") from error
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        return body


Handler = Callable[[RestContext], Awaitable[Response]]


@dataclass
class _MethodSpec:
    handler: Handler
    scope: str


@dataclass
class _Route:
    template: tuple[str, ...]
    resource: str
    methods: dict[str, _MethodSpec] = field(default_factory=dict)

    def match(self, segments: list[str]) -> dict[str, int] | None:
        """Return {param name: segment index} when the segments fit this template."""
        if len(segments) != len(self.template):
            return None
        positions: dict[str, int] = {}
        for index, (part, segment) in enumerate(zip(self.template, segments, strict=True)):
            if part.startswith("{"):
                if not segment:
                    return None
                positions[part[1:-1]] = index
            elif part != segment:
                return None
        return positions


class RestRouter:
    """Routes on raw, still percent-encoded path segments, so URN keys are decoded exactly once."""

    def __init__(self) -> None:
        self.routes: list[_Route] = []

    def add(self, path: str, method: str, handler: Handler, *, resource: str, scope: str) -> None:
        template = tuple(path.strip("/").split("/"))
        for route in self.routes:
            if route.template == template:
                break
        else:
            route = _Route(template, resource)
            self.routes.append(route)
        route.methods[method] = _MethodSpec(handler, scope)

    def find(self, segments: list[str]) -> tuple[_Route, dict[str, int]] | None:
        for route in self.routes:
            positions = route.match(segments)
            if positions is not None:
                return route, positions
        return None


def restli_method_name(method: str, has_key: bool, params: QueryParams, header: str | None) -> str:
    """Name the Rest.li method of a request for access-denied messages."""
    if header:
        return header.upper()
    if "action" in params:
        return f"ACTION-{unquote(params.raw['action'])}"
    if method == "GET":
        if has_key:
            return "GET"
        if "q" in params:
            return f"FINDER-{unquote(params.raw['q'])}"
        return "BATCH_GET" if "ids" in params else "GET_ALL"
    if method == "POST":
        return "PARTIAL_UPDATE" if has_key else "CREATE"
    return method


def _count_quota(sandbox: Sandbox, token: Token, resource: str) -> None:
    config = sandbox.config
    if config.daily_application_quota is None and config.daily_member_quota is None:
        return
    day = datetime.fromtimestamp(sandbox.state.now(), UTC).strftime("%Y-%m-%d")
    counts = sandbox.state.quota_counts
    app_key = (day, f"app:{token.client_id}:{resource}")
    member_key = (day, f"member:{token.member}:{token.client_id}:{resource}")
    counts[app_key] = counts.get(app_key, 0) + 1
    counts[member_key] = counts.get(member_key, 0) + 1
    if config.daily_application_quota is not None:
        if counts[app_key] > config.daily_application_quota:
            raise throttle_error("daily", "application")
    if config.daily_member_quota is not None and counts[member_key] > config.daily_member_quota:
        raise throttle_error("daily", "member")


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


def split_raw_path(request: Request, prefix: str) -> list[str]:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    return path[len(prefix) :].strip("/").split("/")


async def dispatch(request: Request, router: RestRouter, prefix: str, versioned: bool) -> Response:
    """Apply the protocol rules in LinkedIn's order, then call the matching handler."""
    sandbox = get_sandbox(request)
    try:
        version = check_version(request, sandbox) if versioned else None
        token = authenticate(request, sandbox)
        raw_segments = split_raw_path(request, prefix)
        found = router.find(raw_segments)
        if found is None:
            raise not_found(f"No resource found at {request.url.path}")
        route, positions = found
        method = request.method.upper()
        spec = route.methods.get(method)
        if spec is None:
            allowed = ", ".join(sorted(route.methods))
            raise ApiError(
                405,
                {"message": f"Method {method} is not allowed on this resource", "status": 405},
                {"Allow": allowed},
            )
        protocol = request.headers.get("x-restli-protocol-version", "").strip()
        query_string = request.scope.get("query_string", b"").decode("latin-1")
        params = QueryParams.parse(query_string, protocol_v2=protocol == "2.0.0")
        raw_params = {name: raw_segments[index] for name, index in positions.items()}
        try:
            path_params = {name: unquote(raw, errors="strict") for name, raw in raw_params.items()}
        except UnicodeDecodeError as error:
            raise bad_request("Invalid percent-encoding in the resource key") from error
        header_method = request.headers.get("x-restli-method")
        if not SCOPE_GROUPS[spec.scope] & set(token.scopes):
            has_key = route.template[-1].startswith("{")
            method_name = restli_method_name(method, has_key, params, header_method)
            version8 = f"{version}01" if version else "NO_VERSION"
            raise access_denied(route.resource, method_name, version8)
        _count_quota(sandbox, token, route.resource)
        context = RestContext(
            request=request,
            sandbox=sandbox,
            token=token,
            version=version,
            params=params,
            path_params=path_params,
            raw_path_params=raw_params,
            resource=route.resource,
            restli_method=header_method.strip().upper() if header_method else None,
        )
        return await spec.handler(context)
    except ApiError as error:
        _log_rejection(request, error)
        return error_response(error)
    except RestliSyntaxError as syntax_error:
        rejection = bad_request(f"Invalid Rest.li query syntax: {syntax_error}")
        _log_rejection(request, rejection)
        return error_response(rejection)


def _log_rejection(request: Request, error: ApiError) -> None:
    code = error.body.get("code") or error.body.get("serviceErrorCode") or ""
    logger.info(
        "sandbox rejected %s %s with %d %s: %s",
        request.method,
        request.url.path,
        error.status,
        code,
        error.body.get("message", ""),
    )


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def created_response(entity_id: str, location: str) -> Response:
    """Return LinkedIn's CREATE response: 201, empty body, the new key in x-restli-id."""
    return Response(
        status_code=201,
        headers={
            "x-restli-id": entity_id,
            "x-linkedin-id": entity_id,
            "Location": location,
            "Content-Length": "0",
        },
    )


def no_content() -> Response:
    return Response(status_code=204)
