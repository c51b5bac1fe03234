"""Routes: OAuth connect and callback, connections and ad accounts."""

from __future__ import annotations

import html
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from app.connections.schemas import (
    AdAccountOut,
    AuthorizationStart,
    AuthorizationUrl,
    ConnectionOut,
)
from app.connections.service import ConnectionService
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import AuthenticationError, InvalidInputError, NotFoundError, error_responses
from app.core.schemas import AccountId

router = APIRouter(prefix="/v1", tags=["connections"])


def service(request: Request) -> ConnectionService:
    return request.app.state.connections  # type: ignore[no-any-return]


@router.post(
    "/connections/oauth/start",
    response_model=AuthorizationUrl,
    responses=error_responses(AuthenticationError, InvalidInputError),
)
async def start_oauth(
    body: AuthorizationStart, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> AuthorizationUrl:
    """Return the LinkedIn authorization URL to send the person's browser to."""
    return await service(request).start_authorization(session, workspace, body.return_url)


@router.get(
    "/connections/oauth/callback",
    include_in_schema=True,
    response_class=HTMLResponse,
    responses={303: {"description": "Back to the dashboard with the outcome"}},
)
async def oauth_callback(
    request: Request,
    session: SessionDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Finish the OAuth flow that LinkedIn redirected the browser back to."""
    outcome = await service(request).complete_authorization(
        session, state=state, code=code, error=error, error_description=error_description
    )
    if outcome.redirect_url is not None:
        return RedirectResponse(outcome.redirect_url, status_code=303)
    page = (
        "<!doctype html><html><head><title>LinkedIn Ads connection failed</title></head><body>"
        f"<h1>LinkedIn Ads connection failed</h1><p>{html.escape(outcome.message or '')}</p>"
        "</body></html>"
    )
    return HTMLResponse(page, status_code=400)


@router.get(
    "/connections",
    response_model=list[ConnectionOut],
    responses=error_responses(AuthenticationError),
)
async def list_connections(
    request: Request, session: SessionDep, workspace: WorkspaceDep
) -> list[ConnectionOut]:
    """List this workspace's LinkedIn connections with their ad accounts."""
    return await service(request).list_connections(session, workspace)


@router.get(
    "/connections/{connection_id}",
    response_model=ConnectionOut,
    responses=error_responses(AuthenticationError, NotFoundError),
)
async def get_connection(
    connection_id: uuid.UUID, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> ConnectionOut:
    """Show one connection: status, token expiry and ad accounts."""
    return await service(request).get_connection(session, workspace, connection_id)


@router.delete(
    "/connections/{connection_id}",
    status_code=204,
    responses=error_responses(AuthenticationError, NotFoundError),
)
async def disconnect(
    connection_id: uuid.UUID, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> Response:
    """Disconnect: delete the stored tokens and revoke them at LinkedIn."""
    await service(request).disconnect(session, workspace, connection_id)
    return Response(status_code=204)


@router.get(
    "/ad-accounts",
    response_model=list[AdAccountOut],
    responses=error_responses(AuthenticationError),
)
async def list_ad_accounts(
    request: Request, session: SessionDep, workspace: WorkspaceDep
) -> list[AdAccountOut]:
    """List the sponsored ad accounts captured by this workspace's connections."""
    return await service(request).list_ad_accounts(session, workspace)


@router.get(
    "/ad-accounts/{account_id}",
    response_model=AdAccountOut,
    responses=error_responses(AuthenticationError, NotFoundError),
)
async def get_ad_account(
    account_id: AccountId, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> AdAccountOut:
    """Show one connected ad account."""
    return await service(request).get_ad_account(session, workspace, account_id)
