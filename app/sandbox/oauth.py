"""LinkedIn's OAuth 2.0 server: consent page, code and refresh grants, introspection, revocation.

Token-endpoint errors use LinkedIn's `{"error","error_description"}` bodies. Codes live 30
minutes and work once. A refresh keeps the refresh-token string and its original expiry.
"""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.sandbox.runtime import Sandbox, get_sandbox
from app.sandbox.state import AuthorizationCode, Token

router = APIRouter(prefix="/oauth/v2")

CODE_MISMATCH_DESCRIPTION = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)
# NOTE: LinkedIn does not document the refresh-token failure body. This one is a guess.
REFRESH_INVALID_DESCRIPTION = (
    "The provided authorization grant or refresh token is invalid, expired or revoked"
)
SCOPE_DESCRIPTIONS = {
    "r_ads": "Read your ad accounts, campaigns and creatives",
    "rw_ads": "Create and manage your ad accounts, campaigns and creatives",
    "r_ads_reporting": "Read reporting for your ad accounts",
    "r_organization_social": "Read your organizations' posts",
    "w_organization_social": "Post and upload media on behalf of your organizations",
    "w_member_social": "Post and upload media on your behalf",
    "r_basicprofile": "Read your basic profile",
    "openid": "Sign in with your LinkedIn identity",
    "profile": "Read your name and photo",
    "email": "Read your primary email address",
}


def token_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def missing_parameter(name: str) -> JSONResponse:
    return token_error(400, "invalid_request", f'A required parameter "{name}" is missing')


def new_token_value() -> str:
    """Return an opaque token of 500+ url-safe characters, like LinkedIn's."""
    return "AQ" + secrets.token_urlsafe(384)


async def read_form(request: Request) -> dict[str, str]:
    """Parse a form-encoded body. Other content types yield no parameters, as at LinkedIn."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit(parts._replace(query=query))


def _error_page(message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><title>LinkedIn sandbox: authorization error</title></head>"
        f"<body><h1>Authorization error</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=400)


def _parse_scopes(text: str) -> list[str]:
    return [scope for scope in text.split(" ") if scope]


def _validate_authorization(sandbox: Sandbox, params: dict[str, str]) -> Response | list[str]:
    """Return the requested scopes, or the error page or redirect for invalid parameters."""
    config = sandbox.config
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if client_id != config.client_id:
        return _error_page(f"The client_id {client_id!r} does not belong to a registered app.")
    if not redirect_uri or not config.is_redirect_uri_allowed(redirect_uri):
        return _error_page(
            f"The redirect_uri {redirect_uri!r} does not match the app's registered redirect URLs."
        )

    state = params.get("state", "")
    if params.get("response_type") != "code":
        return RedirectResponse(
            _with_query(
                redirect_uri,
                {
                    "error": "unsupported_response_type",
                    "error_description": "response_type must be code",
                    "state": state,
                },
            ),
            status_code=302,
        )

    scopes = _parse_scopes(params.get("scope", ""))
    if not scopes:
        return RedirectResponse(
            _with_query(
                redirect_uri,
                {
                    "error": "invalid_request",
                    "error_description": 'A required parameter "scope" is missing',
                    "state": state,
                },
            ),
            status_code=302,
        )
    for scope in scopes:
        if scope not in config.app_scopes:
            return RedirectResponse(
                _with_query(
                    redirect_uri,
                    {
                        "error": "unauthorized_scope_error",
                        "error_description": (
                            f'Scope "{scope}" is not authorized for your application'
                        ),
                        "state": state,
                    },
                ),
                status_code=302,
            )
    return scopes


def _consent_page(sandbox: Sandbox, params: dict[str, str], scopes: list[str]) -> HTMLResponse:
    escape = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(params.get(name, ""))}">'
        for name in ("response_type", "client_id", "redirect_uri", "state", "scope")
    )
    scope_items = "".join(
        f"<li><code>{escape(scope)}</code>: {escape(SCOPE_DESCRIPTIONS.get(scope, scope))}</li>"
        for scope in scopes
    )
    members = list(sandbox.state.members.values())
    choices = "".join(
        f'<label><input type="radio" name="member" value="{escape(member.urn)}"'
        f"{' checked' if index == 0 else ''}> {escape(member.first_name)} "
        f"{escape(member.last_name)} (<code>{escape(member.urn)}</code>)</label><br>"
        for index, member in enumerate(members)
    )
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>LinkedIn sandbox: sign in</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto}}
button{{font-size:1em;padding:.5em 1.5em;margin-right:1em}}</style></head>
<body>
<h1>{escape(sandbox.config.app_name)} would like to access your LinkedIn account</h1>
<form method="post" action="/oauth/v2/authorization">
{hidden}
<fieldset><legend>Sign in as</legend>{choices}</fieldset>
<p>The app requests these permissions:</p>
<ul>{scope_items}</ul>
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>
<p><small>This is the LinkedIn sandbox; no real LinkedIn account is involved.</small></p>
</body></html>"""
    return HTMLResponse(body)


@router.get("/authorization")
async def authorization_page(request: Request) -> Response:
    sandbox = get_sandbox(request)
    params = dict(request.query_params)
    checked = _validate_authorization(sandbox, params)
    if isinstance(checked, Response):
        return checked
    return _consent_page(sandbox, params, checked)


@router.post("/authorization")
async def authorization_decision(request: Request) -> Response:
    sandbox = get_sandbox(request)
    params = await read_form(request)
    checked = _validate_authorization(sandbox, params)
    if isinstance(checked, Response):
        return checked
    redirect_uri = params["redirect_uri"]
    state = params.get("state", "")
    if params.get("decision") != "approve":
        target = _with_query(
            redirect_uri,
            {
                "error": "user_cancelled_authorize",
                "error_description": "The user cancelled the authorization",
                "state": state,
            },
        )
        return RedirectResponse(target, status_code=302)
    members = sandbox.state.members
    member = params.get("member") or next(iter(members))
    if member not in members:
        return _error_page(f"Unknown member {member!r}.")
    code = AuthorizationCode(
        value=secrets.token_urlsafe(96),
        member=member,
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        scopes=tuple(checked),
        created_at=sandbox.state.now(),
    )
    sandbox.state.codes[code.value] = code
    return RedirectResponse(
        _with_query(redirect_uri, {"code": code.value, "state": state}), status_code=302
    )


def issue_grant(
    sandbox: Sandbox, member: str, scopes: tuple[str, ...], access_lifetime: int | None = None
) -> dict[str, Any]:
    """Create an access token (and refresh token when enabled) and return the token response.

    A grant with a different scope set revokes the member's earlier access tokens for the app,
    as LinkedIn does.
    """
    state = sandbox.state
    config = sandbox.config
    now = state.now()
    for token in state.tokens.values():
        if (
            token.member == member
            and token.client_id == config.client_id
            and token.kind == "access"
            and set(token.scopes) != set(scopes)
        ):
            token.revoked = True
    grant_id = state.next_grant_id()
    access = Token(
        value=new_token_value(),
        kind="access",
        member=member,
        client_id=config.client_id,
        scopes=scopes,
        created_at=now,
        expires_at=now + (access_lifetime or config.access_token_lifetime_seconds),
        authorized_at=now,
        grant_id=grant_id,
    )
    state.tokens[access.value] = access
    response: dict[str, Any] = {
        "access_token": access.value,
        "expires_in": int(access.expires_at - now),
    }
    if config.programmatic_refresh:
        refresh = Token(
            value=new_token_value(),
            kind="refresh",
            member=member,
            client_id=config.client_id,
            scopes=scopes,
            created_at=now,
            expires_at=now + config.refresh_token_lifetime_seconds,
            authorized_at=now,
            grant_id=grant_id,
        )
        state.tokens[refresh.value] = refresh
        response["refresh_token"] = refresh.value
        response["refresh_token_expires_in"] = int(refresh.expires_at - now)
    response["scope"] = " ".join(scopes)
    return response


def _check_client(sandbox: Sandbox, form: dict[str, str]) -> JSONResponse | None:
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            return missing_parameter(name)
    if form["client_id"] != sandbox.config.client_id or not secrets.compare_digest(
        form["client_secret"], sandbox.config.client_secret
    ):
        return token_error(401, "invalid_client", "Client authentication failed")
    return None


def _exchange_code(sandbox: Sandbox, form: dict[str, str]) -> JSONResponse:
    for name in ("code", "redirect_uri", "client_id", "client_secret"):
        if not form.get(name):
            return missing_parameter(name)
    client_error = _check_client(sandbox, form)
    if client_error is not None:
        return client_error
    code = sandbox.state.codes.get(form["code"])
    if code is None:
        return token_error(
            401, "invalid_request", "Unable to retrieve access token: authorization code not found"
        )
    now = sandbox.state.now()
    expired = now > code.created_at + sandbox.config.authorization_code_lifetime_seconds
    if code.used or expired or code.redirect_uri != form["redirect_uri"]:
        return token_error(400, "invalid_request", CODE_MISMATCH_DESCRIPTION)
    code.used = True
    return JSONResponse(issue_grant(sandbox, code.member, code.scopes))


def _refresh(sandbox: Sandbox, form: dict[str, str]) -> JSONResponse:
    for name in ("refresh_token", "client_id", "client_secret"):
        if not form.get(name):
            return missing_parameter(name)
    client_error = _check_client(sandbox, form)
    if client_error is not None:
        return client_error
    state = sandbox.state
    refresh = state.tokens.get(form["refresh_token"])
    now = state.now()
    if (
        refresh is None
        or refresh.kind != "refresh"
        or refresh.state(now) != "active"
        or not sandbox.config.programmatic_refresh
    ):
        return token_error(400, "invalid_grant", REFRESH_INVALID_DESCRIPTION)
    access = Token(
        value=new_token_value(),
        kind="access",
        member=refresh.member,
        client_id=refresh.client_id,
        scopes=refresh.scopes,
        created_at=now,
        expires_at=now + sandbox.config.access_token_lifetime_seconds,
        authorized_at=refresh.authorized_at,
        grant_id=refresh.grant_id,
    )
    state.tokens[access.value] = access
    return JSONResponse(
        {
            "access_token": access.value,
            "expires_in": sandbox.config.access_token_lifetime_seconds,
            "refresh_token": refresh.value,
            "refresh_token_expires_in": int(refresh.expires_at - now),
            "scope": " ".join(refresh.scopes),
        }
    )


@router.post("/accessToken")
async def access_token(request: Request) -> Response:
    sandbox = get_sandbox(request)
    form = await read_form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        return missing_parameter("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(sandbox, form)
    if grant_type == "refresh_token":
        return _refresh(sandbox, form)
    if grant_type == "client_credentials":
        client_error = _check_client(sandbox, form)
        if client_error is not None:
            return client_error
        return token_error(
            401, "access_denied", "This application is not allowed to create application tokens"
        )
    return token_error(
        400, "unsupported_grant_type", f"The grant_type {grant_type!r} is not supported"
    )


@router.post("/introspectToken")
async def introspect_token(request: Request) -> Response:
    sandbox = get_sandbox(request)
    form = await read_form(request)
    if not form.get("token"):
        return missing_parameter("token")
    if not form.get("client_id"):
        return missing_parameter("client_id")
    if form["client_id"] != sandbox.config.client_id:
        return token_error(400, "invalid_request", "Invalid client id")
    client_error = _check_client(sandbox, form)
    if client_error is not None:
        return client_error
    token = sandbox.state.tokens.get(form["token"])
    if token is None:
        return token_error(400, "invalid_request", "The token is not valid")
    if token.client_id != form["client_id"]:
        return JSONResponse({"active": False})
    status = token.state(sandbox.state.now())
    return JSONResponse(
        {
            "active": status == "active",
            "client_id": token.client_id,
            "authorized_at": int(token.authorized_at),
            "created_at": int(token.created_at),
            "status": status,
            "expires_at": int(token.expires_at),
            "scope": ",".join(token.scopes),
            "auth_type": "3L",
        }
    )


@router.post("/revoke")
async def revoke_token(request: Request) -> Response:
    sandbox = get_sandbox(request)
    form = await read_form(request)
    if not form.get("token"):
        return missing_parameter("token")
    client_error = _check_client(sandbox, form)
    if client_error is not None:
        return client_error
    token = sandbox.state.tokens.get(form["token"])
    if token is not None:
        token.revoked = True
    return Response(status_code=200)
