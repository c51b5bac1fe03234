"""OAuth connect, callback and disconnect; listing connections and their ad accounts."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections import repository
from app.connections.models import AdAccount, Connection
from app.connections.schemas import AdAccountOut, AuthorizationUrl, ConnectionOut
from app.connections.tokens import TokenService, reconnect_deadline
from app.core.errors import FieldError, InvalidInputError, NotFoundError, ServiceError
from app.core.settings import Settings
from app.events.repository import add_event
from app.linkedin.client import LinkedInClient
from app.linkedin.oauth import OAuthClient, authorization_url

logger = logging.getLogger(__name__)

ACCOUNT_PROBE_SCOPE = "member"


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def is_allowed_return_url(url: str, allowed: Sequence[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return False
    return any(url.startswith(prefix) for prefix in allowed)


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@dataclass(frozen=True)
class CallbackOutcome:
    """The callback's result; `redirect_url` is None when no page is safe to redirect to."""

    redirect_url: str | None
    connected: bool
    reason: str | None = None
    message: str | None = None
    connection_id: uuid.UUID | None = None


def account_out(account: AdAccount) -> AdAccountOut:
    return AdAccountOut(
        id=str(account.account_id),
        urn=f"urn:li:sponsoredAccount:{account.account_id}",
        name=account.name,
        currency=account.currency,
        status=account.status,
        type=account.type,
        test=account.test,
        connection_id=account.connection_id,
        last_synced_at=account.last_synced_at,
    )


def days_until(moment: datetime | None, now: datetime) -> int | None:
    if moment is None:
        return None
    return max(0, (moment - now) // timedelta(days=1))


def connection_out(
    connection: Connection, accounts: Sequence[AdAccount] = (), *, settings: Settings
) -> ConnectionOut:
    now = datetime.now(UTC)
    deadline = reconnect_deadline(connection)
    if connection.refresh_token_encrypted is not None:
        warning_window = timedelta(days=settings.linkedin_ads_refresh_token_warning_days)
        ending = connection.refresh_token_expires_at
    else:
        warning_window = timedelta(seconds=settings.linkedin_ads_token_refresh_margin_seconds)
        ending = connection.access_token_expires_at
    return ConnectionOut(
        needs_reconnect=connection.status == "needs_reconnect",
        access_token_expires_in_days=days_until(connection.access_token_expires_at, now),
        refresh_token_expires_in_days=days_until(connection.refresh_token_expires_at, now),
        reconnect_by=deadline,
        expires_soon=(
            connection.status == "active" and ending is not None and ending - now < warning_window
        ),
        id=connection.id,
        status=connection.status,
        status_reason=connection.status_reason,
        scopes=connection.scopes.split() if connection.scopes else [],
        access_token_expires_at=connection.access_token_expires_at,
        refresh_token_expires_at=connection.refresh_token_expires_at,
        has_refresh_token=connection.refresh_token_encrypted is not None,
        created_at=connection.created_at,
        last_refreshed_at=connection.last_refreshed_at,
        ad_accounts=[account_out(account) for account in accounts],
    )


def account_row(element: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": int(element["id"]),
        "name": str(element.get("name") or ""),
        "currency": str(element.get("currency") or "USD"),
        "status": str(element.get("status") or "ACTIVE"),
        "type": element.get("type"),
        "test": bool(element.get("test", False)),
        "reference": element.get("reference"),
    }


class ConnectionService:
    def __init__(
        self,
        *,
        settings: Settings,
        linkedin: LinkedInClient,
        oauth: OAuthClient,
        tokens: TokenService,
    ) -> None:
        self.settings = settings
        self.linkedin = linkedin
        self.oauth = oauth
        self.tokens = tokens

    async def start_authorization(
        self, session: AsyncSession, workspace_id: str, return_url: str
    ) -> AuthorizationUrl:
        if not is_allowed_return_url(return_url, self.settings.linkedin_ads_allowed_return_urls):
            raise InvalidInputError(
                f"return_url {return_url!r} is not allowed; it must start with one of "
                "LINKEDIN_ADS_ALLOWED_RETURN_URLS",
                fields=[FieldError("return_url", "not on the allow-list")],
            )
        state = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + timedelta(
            seconds=self.settings.linkedin_ads_oauth_state_ttl_seconds
        )
        await repository.add_oauth_state(
            session,
            state_hash=hash_state(state),
            workspace_id=workspace_id,
            return_url=return_url,
            expires_at=expires_at,
        )
        return AuthorizationUrl(
            authorization_url=authorization_url(self.settings, state), expires_at=expires_at
        )

    async def complete_authorization(
        self,
        session: AsyncSession,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        error_description: str | None,
    ) -> CallbackOutcome:
        if not state:
            return CallbackOutcome(
                None,
                False,
                "missing_state",
                "The sign-in link is incomplete: it has no state parameter.",
            )
        stored = await repository.get_oauth_state(session, hash_state(state))
        if stored is None:
            return CallbackOutcome(
                None,
                False,
                "unknown_state",
                "This sign-in link is unknown. Start the connection again from the dashboard.",
            )

        def fail(reason: str, message: str) -> CallbackOutcome:
            logger.info(
                "connection.callback_failed",
                extra={"reason": reason, "workspace_id": stored.workspace_id},
            )
            url = with_query(
                stored.return_url, {"linkedin_ads": "error", "reason": reason, "message": message}
            )
            return CallbackOutcome(url, False, reason, message)

        now = datetime.now(UTC)
        if stored.used_at is not None:
            return fail("state_reused", "This sign-in link was already used. Start again.")
        if stored.expires_at <= now:
            return fail("state_expired", "This sign-in link expired. Start again.")
        if not await repository.consume_oauth_state(session, stored.state_hash, now):
            return fail("state_reused", "This sign-in link was already used. Start again.")
        if error:
            reason = "cancelled" if error.startswith("user_cancelled") else error
            text = (
                "The LinkedIn sign-in was cancelled."
                if reason == "cancelled"
                else f"LinkedIn refused the authorization: {error_description or error}"
            )
            return fail(reason, text)
        if not code:
            return fail("missing_code", "LinkedIn returned no authorization code.")

        try:
            tokens = await self.oauth.exchange_code(code)
            elements = await self.linkedin.find_all(
                "list_ad_accounts",
                "/adAccounts",
                token=tokens.access_token,
                scope=ACCOUNT_PROBE_SCOPE,
                params={"q": "search"},
                page_size=1000,
            )
        except ServiceError as failure:
            return fail(failure.code, failure.message)

        accounts = [account_row(element) for element in elements]
        connection = await repository.find_connection_owning_accounts(
            session, stored.workspace_id, [row["account_id"] for row in accounts]
        )
        if connection is None:
            connection = await repository.add_connection(
                session, Connection(workspace_id=stored.workspace_id, status="active")
            )
        connection.status = "active"
        connection.status_reason = None
        connection.disconnected_at = None
        self.tokens.store_tokens(connection, tokens)
        await repository.upsert_ad_accounts(session, stored.workspace_id, connection.id, accounts)
        await add_event(
            session,
            workspace_id=stored.workspace_id,
            entity_type="connection",
            entity_id=str(connection.id),
            type="connected",
            connection_id=connection.id,
            data={"ad_accounts": [row["account_id"] for row in accounts]},
        )
        logger.info(
            "connection.connected",
            extra={"connection_id": str(connection.id), "ad_account_count": len(accounts)},
        )
        url = with_query(
            stored.return_url, {"linkedin_ads": "connected", "connection_id": str(connection.id)}
        )
        return CallbackOutcome(url, True, connection_id=connection.id)

    async def list_connections(
        self, session: AsyncSession, workspace_id: str
    ) -> list[ConnectionOut]:
        connections = await repository.list_connections(session, workspace_id)
        accounts = await repository.list_ad_accounts(session, workspace_id)
        by_connection: dict[uuid.UUID, list[AdAccount]] = {}
        for account in accounts:
            by_connection.setdefault(account.connection_id, []).append(account)
        return [
            connection_out(item, by_connection.get(item.id, []), settings=self.settings)
            for item in connections
        ]

    async def get_connection(
        self, session: AsyncSession, workspace_id: str, connection_id: uuid.UUID
    ) -> ConnectionOut:
        connection = await repository.get_connection(session, workspace_id, connection_id)
        if connection is None or connection.status == "disconnected":
            raise NotFoundError(f"connection {connection_id} not found")
        accounts = await repository.list_ad_accounts(session, workspace_id, connection_id)
        return connection_out(connection, accounts, settings=self.settings)

    async def list_ad_accounts(
        self, session: AsyncSession, workspace_id: str
    ) -> list[AdAccountOut]:
        return [
            account_out(item) for item in await repository.list_ad_accounts(session, workspace_id)
        ]

    async def get_ad_account(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> AdAccountOut:
        account = await repository.get_ad_account(session, workspace_id, account_id)
        if account is None:
            raise NotFoundError(f"ad account {account_id} not found in this workspace")
        return account_out(account)

    async def disconnect(
        self, session: AsyncSession, workspace_id: str, connection_id: uuid.UUID
    ) -> None:
        """Delete the stored tokens and accounts; revoke upstream when possible."""
        connection = await repository.get_connection(
            session, workspace_id, connection_id, for_update=True
        )
        if connection is None or connection.status == "disconnected":
            raise NotFoundError(f"connection {connection_id} not found")
        # Both tokens are revoked: LinkedIn revokes per token, so a refresh token left alone
        # would still mint access tokens after the disconnect.
        stored = [connection.access_token_encrypted, connection.refresh_token_encrypted]
        upstream_tokens = [self.tokens.cipher.decrypt(item) for item in stored if item]
        connection.access_token_encrypted = None
        connection.refresh_token_encrypted = None
        connection.access_token_expires_at = None
        connection.refresh_token_expires_at = None
        connection.expiry_warned_at = None
        connection.status = "disconnected"
        connection.disconnected_at = datetime.now(UTC)
        await repository.delete_ad_accounts(session, connection.id)
        await add_event(
            session,
            workspace_id=workspace_id,
            entity_type="connection",
            entity_id=str(connection.id),
            type="disconnected",
            connection_id=connection.id,
        )
        if not self.settings.linkedin_ads_revoke_on_disconnect:
            return
        for token in upstream_tokens:
            try:
                await self.oauth.revoke(token)
            except ServiceError as failure:
                # Our copy is gone either way; the member can still remove the app on LinkedIn.
                logger.warning(
                    "connection.revoke_failed",
                    extra={"connection_id": str(connection.id), "error": failure.message},
                )
