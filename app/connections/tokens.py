"""Access tokens for upstream calls, refreshed ahead of expiry once per connection.

The refresh runs in its own transaction under a row lock on the connection, so however many
requests (in however many processes) find the token due at once, LinkedIn sees one refresh
call and every waiter reads its result.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.connections import repository
from app.connections.models import Connection
from app.core.errors import NotFoundError, ReconnectRequiredError
from app.core.security import TokenCipher
from app.core.settings import Settings
from app.events.repository import add_event
from app.linkedin.oauth import OAuthClient, OAuthGrantError, TokenSet

logger = logging.getLogger(__name__)

T = TypeVar("T")

RECONNECT_MESSAGE = "LinkedIn Ads /adAccounts returned 401"


@dataclass(frozen=True)
class AccountAccess:
    """What an upstream call on one ad account needs."""

    workspace_id: str
    account_id: int
    currency: str
    connection_id: uuid.UUID
    access_token: str


class TokenService:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        oauth: OAuthClient,
        settings: Settings,
    ) -> None:
        self.session_factory = session_factory
        self.cipher = cipher
        self.oauth = oauth
        self.settings = settings

    def _margin(self) -> timedelta:
        return timedelta(seconds=self.settings.linkedin_ads_token_refresh_margin_seconds)

    def store_tokens(self, connection: Connection, tokens: TokenSet) -> None:
        connection.access_token_encrypted = self.cipher.encrypt(tokens.access_token)
        connection.access_token_expires_at = tokens.access_token_expires_at
        if tokens.refresh_token:
            connection.refresh_token_encrypted = self.cipher.encrypt(tokens.refresh_token)
            connection.refresh_token_expires_at = tokens.refresh_token_expires_at
        if tokens.scopes:
            connection.scopes = " ".join(tokens.scopes)

    async def access_for_account(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> AccountAccess:
        account = await repository.get_ad_account(session, workspace_id, account_id)
        if account is None:
            raise NotFoundError(
                f"ad account {account_id} is not connected in this workspace; connect a "
                "LinkedIn member who has access to it, then list /v1/ad-accounts"
            )
        connection = await repository.get_connection_by_id(session, account.connection_id)
        if connection is None:
            raise NotFoundError(f"connection {account.connection_id} not found")
        token = await self._usable_token(connection)
        return AccountAccess(workspace_id, account.account_id, account.currency,
                             account.connection_id, token)

    async def access_token(self, connection_id: uuid.UUID) -> str:
        """Return a usable access token, refreshing it first when it is within the margin."""
        async with self.session_factory() as session:
            connection = await repository.get_connection_by_id(session, connection_id)
            if connection is None:
                raise NotFoundError(f"connection {connection_id} not found")
            return await self._usable_token(connection)

    async def _usable_token(self, connection: Connection) -> str:
        self._check_usable(connection)
        if not self._is_due(connection):
            assert connection.access_token_encrypted is not None
            return self.cipher.decrypt(connection.access_token_encrypted)
        # NOTE: the refresh takes a second pooled connection (its own transaction with a row
        # lock) while the caller may hold one; refreshes are rare, so the pool has room.
        return await self.refresh(connection.id)

    def _is_due(self, connection: Connection, margin: timedelta | None = None) -> bool:
        expires_at = connection.access_token_expires_at
        if expires_at is None:
            return True
        return expires_at - (self._margin() if margin is None else margin) <= datetime.now(UTC)

    def _check_usable(self, connection: Connection) -> None:
        if connection.status == "needs_reconnect":
            raise ReconnectRequiredError(RECONNECT_MESSAGE, reason=connection.status_reason)
        if connection.status == "disconnected" or connection.access_token_encrypted is None:
            raise NotFoundError(f"connection {connection.id} is disconnected")

    async def refresh(self, connection_id: uuid.UUID, *, force: bool = False) -> str:
        """Refresh under a row lock; a waiter that finds the token fresh uses it as it is."""
        failure: ReconnectRequiredError | None = None
        async with self.session_factory() as session, session.begin():
            connection = await repository.get_connection_by_id(
                session, connection_id, for_update=True
            )
            if connection is None:
                raise NotFoundError(f"connection {connection_id} not found")
            self._check_usable(connection)
            assert connection.access_token_encrypted is not None
            current = self.cipher.decrypt(connection.access_token_encrypted)
            if not force and not self._is_due(connection):
                return current
            now = datetime.now(UTC)
            if connection.refresh_token_encrypted is None:
                # Apps without programmatic refresh tokens keep using the token until it expires.
                expires_at = connection.access_token_expires_at
                if expires_at is not None and expires_at > now:
                    return current
                reason = "the access token expired and LinkedIn issued no refresh token"
                await self._mark_needs_reconnect(session, connection, reason)
                failure = ReconnectRequiredError(RECONNECT_MESSAGE, reason="access_token_expired")
            else:
                refresh_token = self.cipher.decrypt(connection.refresh_token_encrypted)
                try:
                    tokens = await self.oauth.refresh(refresh_token)
                except OAuthGrantError as error:
                    # The mark must be committed, so the error is raised after the block.
                    await self._mark_needs_reconnect(session, connection, str(error))
                    failure = ReconnectRequiredError(
                        RECONNECT_MESSAGE, reason="refresh_rejected", upstream=error.upstream
                    )
                else:
                    self.store_tokens(connection, tokens)
                    connection.last_refreshed_at = now
                    logger.info(
                        "connection.token_refreshed", extra={"connection_id": str(connection.id)}
                    )
                    return tokens.access_token
        assert failure is not None
        raise failure

    async def mark_needs_reconnect(self, connection_id: uuid.UUID, reason: str) -> None:
        async with self.session_factory() as session, session.begin():
            connection = await repository.get_connection_by_id(session, connection_id, for_update=True)
            if connection is not None and connection.status == "active":
                await self._mark_needs_reconnect(session, connection, reason)

    async def _mark_needs_reconnect(
        self, session: AsyncSession, connection: Connection, reason: str
    ) -> None:
        connection.status = "needs_reconnect"
        connection.status_reason = reason
        await add_event(
            session, workspace_id=connection.workspace_id, entity_type="connection",
            entity_id=str(connection.id), type="needs_reconnect", message=reason,
            connection_id=connection.id,
        )
        logger.warning(
            "connection.needs_reconnect",
            extra={"connection_id": str(connection.id), "reason": reason},
        )


async def call_with_token(
    tokens: TokenService, access: AccountAccess, call: Callable[[str], Awaitable[T]]
) -> T:
    """Run an upstream call; on a 401, refresh once and retry, then mark the connection.

    A 401 right after a successful refresh means LinkedIn revoked the grant, so the connection
    needs a new sign-in and stops making calls.
    """
    try:
        return await call(access.access_token)
    except ReconnectRequiredError as error:
        if error.upstream is None or error.upstream.status != 401:
            raise
        token = await tokens.refresh(access.connection_id, force=True)
    try:
        return await call(token)
    except ReconnectRequiredError as error:
        if error.upstream is not None and error.upstream.status == 401:
            await tokens.mark_needs_reconnect(
                access.connection_id, "LinkedIn rejected the access token after a refresh"
            )
        raise
