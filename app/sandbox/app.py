"""App factory of the LinkedIn sandbox: a stateful imitation of the Marketing API and OAuth."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.responses import Response

from app.sandbox import accounts, admin, analytics, oauth, uploads
from app.sandbox.campaign_groups import RESOURCE as CAMPAIGN_GROUPS
from app.sandbox.campaigns import RESOURCE as CAMPAIGNS
from app.sandbox.config import SandboxConfig
from app.sandbox.creatives import RESOURCE as CREATIVES
from app.sandbox.middleware import DropFilter, SandboxMiddleware
from app.sandbox.protocol import RestRouter, dispatch
from app.sandbox.runtime import Sandbox

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def build_rest_router() -> RestRouter:
    """Register every versioned `/rest` resource."""
    router = RestRouter()
    accounts.register(router)
    CAMPAIGN_GROUPS.register(router)
    CAMPAIGNS.register(router)
    CREATIVES.register(router)
    uploads.register(router)
    analytics.register(router)
    return router


def build_legacy_router() -> RestRouter:
    """Register the unversioned `/v2` resources the sandbox keeps (legacy asset uploads)."""
    router = RestRouter()
    uploads.register_legacy(router)
    return router


def _install_drop_filter() -> None:
    for name in ("uvicorn.error", "uvicorn"):
        target = logging.getLogger(name)
        if not any(isinstance(f, DropFilter) for f in target.filters):
            target.addFilter(DropFilter())


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    sandbox = Sandbox(config or SandboxConfig())
    app = FastAPI(
        title="LinkedIn sandbox",
        description="Stateful imitation of LinkedIn's Marketing API and OAuth server.",
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sandbox
    rest_router = build_rest_router()
    legacy_router = build_legacy_router()

    @app.api_route("/rest/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    async def rest(request: Request) -> Response:
        return await dispatch(request, rest_router, "/rest", versioned=True)

    @app.api_route("/v2/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    async def legacy(request: Request) -> Response:
        return await dispatch(request, legacy_router, "/v2", versioned=False)

    app.include_router(oauth.router)
    app.include_router(admin.router)
    app.include_router(analytics.admin_router)
    app.include_router(uploads.upload_router)
    app.add_middleware(SandboxMiddleware, sandbox=sandbox)
    _install_drop_filter()
    return app
