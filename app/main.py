"""The app factory and its lifespan: every external resource is created and closed here."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ad_sets.router import router as ad_sets_router
from app.ad_sets.service import AdSetService
from app.ads.router import router as ads_router
from app.ads.service import AdService
from app.analytics.router import router as analytics_router
from app.analytics.service import AnalyticsService
from app.analytics.sync import SyncService
from app.assets.router import router as assets_router
from app.assets.service import AssetService
from app.campaigns.router import router as campaigns_router
from app.campaigns.service import CampaignService
from app.connections.router import router as connections_router
from app.connections.service import ConnectionService
from app.connections.tokens import TokenService
from app.core.auth import ApiKeyRegistry
from app.core.database import create_engine, create_session_factory
from app.core.errors import ServiceError
from app.core.health import health_report
from app.core.logging import configure_logging, request_id_var
from app.core.metrics import MetricsMiddleware
from app.core.middleware import BodyLimitMiddleware, RequestIdMiddleware
from app.core.redis import create_redis
from app.core.security import TokenCipher
from app.core.settings import Settings, get_settings
from app.events.router import router as events_router
from app.experiments.router import router as experiments_router
from app.experiments.service import ExperimentService
from app.experiments.upstream import Upstream
from app.idempotency.service import IdempotencyStore
from app.jobs.registry import register_jobs
from app.jobs.scheduler import Scheduler
from app.linkedin.assets import MAX_BYTES as ASSET_MAX_BYTES
from app.linkedin.client import LinkedInClient
from app.linkedin.oauth import OAuthClient
from app.linkedin.transport import create_http_client
from app.ratelimit.limiter import RateLimiter
from app.ratelimit.router import router as ratelimit_router

logger = logging.getLogger(__name__)

OPERATOR_PATHS = frozenset({"/health", "/metrics"})


def error_body(error: ServiceError) -> dict[str, object]:
    return {"error": error.to_json(), "requestId": request_id_var.get()}


async def service_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    headers = {}
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after_seconds)))
    if error.status_code >= 500:
        logger.warning(
            "request.failed",
            extra={"code": error.code, "operation": error.operation, "error": error.message},
        )
    return JSONResponse(error_body(error), status_code=error.status_code, headers=headers)


async def validation_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    from app.core.errors import FieldError, InvalidInputError

    fields = []
    for problem in error.errors():
        if problem.get("type") == "json_invalid":
            # The location contains the character offset of the syntax error, not a field.
            position = problem.get("loc", ("body", "?"))[-1]
            detail = problem.get("ctx", {}).get("error")
            fields.append(FieldError("body", f"invalid JSON at character {position}: {detail}"))
            continue
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body",)]
        fields.append(FieldError(".".join(location) or "body", str(problem.get("msg"))))
    summary = "; ".join(f"{item.field}: {item.message}" for item in fields)
    invalid = InvalidInputError(f"invalid request: {summary}", fields=fields)
    return JSONResponse(error_body(invalid), status_code=invalid.status_code)


async def http_error_handler(request: Request, error: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) in the service's error shape."""
    assert isinstance(error, StarletteHTTPException)
    from app.core.errors import NotFoundError

    shaped = ServiceError(str(error.detail))
    if error.status_code == 404:
        shaped = NotFoundError(f"no route {request.method} {request.url.path}")
    elif error.status_code == 405:
        shaped.code = "method_not_allowed"
    elif error.status_code == 400:
        shaped.code = "invalid_input"
    elif error.status_code == 413:
        shaped.code = "body_too_large"
    shaped.status_code = error.status_code
    return JSONResponse(
        error_body(shaped), status_code=error.status_code, headers=getattr(error, "headers", None)
    )


async def unexpected_error_handler(request: Request, error: Exception) -> Response:
    # Starlette runs this outside every middleware, after the request id's context has ended,
    # so the id is read from the request scope, where the middleware also stored it.
    request_id = request.scope.get("state", {}).get("request_id")
    logger.exception(
        "request.unexpected_error", extra={"path": request.url.path, "request_id": request_id}
    )
    internal = ServiceError("internal error; the request id identifies it in the logs")
    body = {"error": internal.to_json(), "requestId": request_id}
    headers = {"X-Request-Id": request_id} if request_id else None
    return JSONResponse(body, status_code=500, headers=headers)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    redis = create_redis(
        settings.redis_url, timeout_seconds=settings.linkedin_ads_rate_limit_timeout_seconds
    )
    http = create_http_client(settings)
    limiter = RateLimiter(redis, settings)
    linkedin = LinkedInClient(http=http, settings=settings, limiter=limiter)
    oauth = OAuthClient(http=http, settings=settings, limiter=limiter)
    cipher = TokenCipher(settings.linkedin_ads_token_encryption_keys)
    # Token refreshes get their own pool: a request holding a connection of the main pool
    # waits for its refresh, which must never wait for that same pool.
    token_engine = create_engine(
        settings.database_url, pool_size=settings.linkedin_ads_token_pool_size
    )
    tokens = TokenService(
        session_factory=create_session_factory(token_engine),
        cipher=cipher,
        oauth=oauth,
        settings=settings,
    )
    idempotency = IdempotencyStore()

    state = app.state
    state.engine, state.session_factory, state.redis = engine, session_factory, redis
    state.http, state.limiter, state.linkedin, state.oauth = http, limiter, linkedin, oauth
    state.tokens, state.idempotency = tokens, idempotency
    state.connections = ConnectionService(
        settings=settings, linkedin=linkedin, oauth=oauth, tokens=tokens
    )
    state.campaigns = CampaignService(
        settings=settings, linkedin=linkedin, tokens=tokens, idempotency=idempotency
    )
    state.ad_sets = AdSetService(
        settings=settings, linkedin=linkedin, tokens=tokens, idempotency=idempotency
    )
    state.ads = AdService(
        settings=settings, linkedin=linkedin, tokens=tokens, idempotency=idempotency
    )
    state.assets = AssetService(
        settings=settings, linkedin=linkedin, http=http, tokens=tokens, idempotency=idempotency
    )
    state.analytics = AnalyticsService(settings=settings, linkedin=linkedin, tokens=tokens)
    state.sync = SyncService(
        settings=settings, linkedin=linkedin, tokens=tokens, session_factory=session_factory
    )
    state.experiments = ExperimentService(
        settings=settings,
        idempotency=idempotency,
        upstream=Upstream(
            campaigns=state.campaigns,
            ad_sets=state.ad_sets,
            ads=state.ads,
            analytics=state.analytics,
        ),
    )
    # Background jobs register themselves here; each claims its work in PostgreSQL.
    scheduler = Scheduler()
    state.scheduler = scheduler
    register_jobs(scheduler, state, settings)
    if settings.linkedin_ads_scheduler_enabled:
        scheduler.start()
    logger.info(
        "service.started",
        extra={
            "live_mode": settings.linkedin_ads_live_mode,
            "api_version": settings.linkedin_ads_api_version,
        },
    )
    try:
        yield
    finally:
        await scheduler.stop()
        await http.aclose()
        await redis.aclose()
        await token_engine.dispose()
        await engine.dispose()
        logger.info("service.stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="LinkedIn Ads integration",
        version="0.1.0",
        description="Runs LinkedIn advertising for the paid user-acquisition dashboard.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_keys = ApiKeyRegistry(settings)

    app.add_exception_handler(ServiceError, service_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)

    for router in (
        connections_router,
        campaigns_router,
        ad_sets_router,
        ads_router,
        assets_router,
        events_router,
        ratelimit_router,
        analytics_router,
        experiments_router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> JSONResponse:
        """Report the process, PostgreSQL, Redis and the LinkedIn API version; 503 when down."""
        state = request.app.state
        status, body = await health_report(
            engine=state.engine, redis=state.redis, settings=state.settings, linkedin=state.linkedin
        )
        return JSONResponse(body, status_code=status)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Each added middleware wraps the ones before it: request ids outermost, then metrics,
    # then the body limit, which refuses an oversized body before any route reads it.
    upload_limit = max(ASSET_MAX_BYTES.values()) + 1024 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.linkedin_ads_max_body_bytes,
        path_limits=[(r"^/v1/ad-accounts/[^/]+/assets/?$", upload_limit)],
    )
    app.add_middleware(MetricsMiddleware, skip_paths=OPERATOR_PATHS)
    app.add_middleware(RequestIdMiddleware)
    return app


def create_default_app() -> FastAPI:
    """Entry point for `uvicorn --factory app.main:create_default_app`."""
    configure_logging(os.environ.get("LINKEDIN_ADS_LOG_LEVEL", "INFO").upper())
    return create_app()
