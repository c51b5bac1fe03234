"""Access tokens for upstream calls, refreshed ahead of expiry once per connection.

A refresh runs in its own transaction under a row lock on the connection, so however many
requests in however many processes find the token due at once, LinkedIn receives one refresh
call and every waiter reads its result after the lock is released. Inside one process, concurrent
callers also share one attempt, which keeps them from queueing for pooled connections.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.connections import repository
from app.connections.models import Connection
from app.core.errors import NotFoundError, ReconnectRequiredError, ServiceError
from app.core.metrics import PREFIX
from app.core.security import TokenCipher
from app.core.settings import Settings
from app.events.repository import add_event
from app.linkedin.oauth import OAuthClient, OAuthGrantError, TokenSet

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The error message for a revoked or expired grant, worded as the dashboard's troubleshooting
# guide lists it.
RECONNECT_MESSAGE = "LinkedIn Ads /adAccounts returned 401"

TOKEN_REFRESHES = Counter(
    PREFIX + "token_refreshes_total",
    "Refresh-token grants sent to LinkedIn, by outcome (refreshed, rejected, failed).",
    ["outcome"],
)

# refreshed: LinkedIn issued a new access token. current: the stored token needs no refresh
# (it is not due, or another worker already replaced a rejected one). kept: the token is due
# but cannot be refreshed and has not expired, so it stays in use. locked: another worker holds
# the row (only with skip_locked).
RefreshOutcome = Literal["refreshed", "current", "kept", "locked"]


@dataclass(frozen=True)
class RefreshResult:
    access_token: str | None
    outcome: RefreshOutcome


@dataclass(frozen=True)
class AccountAccess:
    """The ad account, its connection and the access token of one upstream call."""

    workspace_id: str
    account_id: int
    currency: str
    connection_id: uuid.UUID
    access_token: str


def reconnect_deadline(connection: Connection) -> datetime | None:
    """Return when the connection stops working unless the member signs in again.

    With a refresh token that is the later of both expiries, because the last access token may
    outlive the refresh token. Without one, it is the access token's expiry.
    """
    access = connection.access_token_expires_at
    if connection.refresh_token_encrypted is None:
        return access
    refresh = connection.refresh_token_expires_at
    if refresh is None:
        return None
    return refresh if access is None else max(refresh, access)


class TokenService:
    """Reads, refreshes and invalidates the stored tokens of connections.

    `session_factory` should come from an engine of its own (see `app.main`). A request that
    has checked out a connection of the main pool waits for the refresh, so the refresh must
    not need a second connection from that same pool.
    """

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
        # One running refresh per connection in this process, which later callers join.
        self._flights: dict[uuid.UUID, asyncio.Task[RefreshResult]] = {}

    def _margin(self) -> timedelta:
        return timedelta(seconds=self.settings.linkedin_ads_token_refresh_margin_seconds)

    def store_tokens(self, connection: Connection, tokens: TokenSet) -> None:
        """Store the tokens of a new grant, replacing every token of an earlier one."""
        connection.access_token_encrypted = self.cipher.encrypt(tokens.access_token)
        connection.access_token_expires_at = tokens.access_token_expires_at
        connection.refresh_token_encrypted = (
            self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
        )
        connection.refresh_token_expires_at = tokens.refresh_token_expires_at
        connection.expiry_warned_at = None
        if tokens.scopes:
            connection.scopes = " ".join(tokens.scopes)

    def _store_refreshed_tokens(self, connection: Connection, tokens: TokenSet) -> None:
        connection.access_token_encrypted = self.cipher.encrypt(tokens.access_token)
        connection.access_token_expires_at = tokens.access_token_expires_at
        # LinkedIn returns the same refresh token with its remaining lifetime. A response
        # without refresh fields leaves the stored refresh token and its expiry as they are.
        if tokens.refresh_token:
            connection.refresh_token_encrypted = self.cipher.encrypt(tokens.refresh_token)
        if tokens.refresh_token_expires_at is not None:
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
        return AccountAccess(
            workspace_id, account.account_id, account.currency, account.connection_id, token
        )

    async def access_token(self, connection_id: uuid.UUID) -> str:
        """Return a usable access token, refreshing it first when it is within the margin."""
        async with self.session_factory() as session:
            connection = await repository.get_connection_by_id(session, connection_id)
            if connection is None:
                raise NotFoundError(f"connection {connection_id} not found")
        return await self._usable_token(connection)

    async def _usable_token(self, connection: Connection) -> str:
        self._check_usable(connection)
        assert connection.access_token_encrypted is not None
        if not self._is_due(connection, datetime.now(UTC)):
            return self.cipher.decrypt(connection.access_token_encrypted)
        try:
            return await self.refresh(connection.id)
        except (ReconnectRequiredError, NotFoundError):
            raise
        except ServiceError as error:
            # LinkedIn's OAuth server is down or throttled. A token that has not expired yet
            # still works, and the next request or job run tries the refresh again.
            expires_at = connection.access_token_expires_at
            if expires_at is None or expires_at <= datetime.now(UTC):
                raise
            logger.warning(
                "connection.token_refresh_deferred",
                extra={
                    "connection_id": str(connection.id),
                    "error": error.message,
                    "access_token_expires_at": expires_at.isoformat(),
                },
            )
            return self.cipher.decrypt(connection.access_token_encrypted)

    def _is_due(self, connection: Connection, now: datetime) -> bool:
        expires_at = connection.access_token_expires_at
        if expires_at is None:
            return True
        return expires_at - self._margin() <= now

    def _check_usable(self, connection: Connection) -> None:
        if connection.status == "needs_reconnect":
            raise ReconnectRequiredError(RECONNECT_MESSAGE, reason="connection_needs_reconnect")
        if connection.status == "disconnected" or connection.access_token_encrypted is None:
            raise NotFoundError(f"connection {connection.id} is disconnected")

    async def refresh(self, connection_id: uuid.UUID, *, rejected_token: str | None = None) -> str:
        """Return a usable access token after refreshing it if it is due.

        With `rejected_token` (a token LinkedIn rejected with a 401), the refresh happens unless the
        stored token already differs from it. Callers in this process join a refresh that is
        already running for the connection.
        """
        while True:
            flight = self._flights.get(connection_id)
            if flight is None or flight.done():
                break
            result = await asyncio.shield(flight)
            assert result.access_token is not None
            if rejected_token is None or result.access_token != rejected_token:
                return result.access_token
            # The joined attempt kept the rejected token, so this caller starts its own.
        task = asyncio.create_task(
            self.refresh_locked(connection_id, rejected_token=rejected_token),
            name=f"token-refresh:{connection_id}",
        )
        self._flights[connection_id] = task
        task.add_done_callback(lambda done: self._end_flight(connection_id, done))
        # Shielded, so a request that is cancelled does not cancel the refresh others wait for.
        result = await asyncio.shield(task)
        assert result.access_token is not None
        return result.access_token

    def _end_flight(self, connection_id: uuid.UUID, task: asyncio.Task[RefreshResult]) -> None:
        if self._flights.get(connection_id) is task:
            del self._flights[connection_id]
        if not task.cancelled():
            task.exception()  # retrieved here, so asyncio does not log it when no caller awaited it

    async def refresh_locked(
        self,
        connection_id: uuid.UUID,
        *,
        rejected_token: str | None = None,
        skip_locked: bool = False,
    ) -> RefreshResult:
        """Refresh under the connection's row lock, re-reading the row after the lock is held.

        Raises ReconnectRequiredError after marking the connection when the grant has ended,
        and the upstream error when LinkedIn's OAuth server failed (nothing is stored then).
        """
        failure: ReconnectRequiredError | None = None
        async with self.session_factory() as session, session.begin():
            connection = await repository.lock_connection(
                session, connection_id, skip_locked=skip_locked
            )
            if connection is None:
                if skip_locked:
                    return RefreshResult(None, "locked")
                raise NotFoundError(f"connection {connection_id} not found")
            self._check_usable(connection)
            assert connection.access_token_encrypted is not None
            current = self.cipher.decrypt(connection.access_token_encrypted)
            now = datetime.now(UTC)
            if rejected_token is None and not self._is_due(connection, now):
                return RefreshResult(current, "current")
            if rejected_token is not None and current != rejected_token:
                return RefreshResult(current, "current")

            blocked = self._refresh_blocked(connection, now, rejected=rejected_token is not None)
            if blocked is not None:
                expires_at = connection.access_token_expires_at
                if rejected_token is None and expires_at is not None and expires_at > now:
                    return RefreshResult(current, "kept")
                code, reason = blocked
                await self._mark_needs_reconnect(session, connection, reason, code)
                failure = ReconnectRequiredError(RECONNECT_MESSAGE, reason=code)
            else:
                assert connection.refresh_token_encrypted is not None
                refresh_token = self.cipher.decrypt(connection.refresh_token_encrypted)
                try:
                    tokens = await self.oauth.refresh(refresh_token)
                except OAuthGrantError as error:
                    TOKEN_REFRESHES.labels("rejected").inc()
                    # The mark must be committed, so the error is raised after the block.
                    await self._mark_needs_reconnect(
                        session, connection, str(error), "refresh_rejected"
                    )
                    failure = ReconnectRequiredError(
                        RECONNECT_MESSAGE,
                        operation=error.operation,
                        upstream=error.upstream,
                        reason="refresh_rejected",
                    )
                except ServiceError:
                    TOKEN_REFRESHES.labels("failed").inc()
                    raise
                else:
                    TOKEN_REFRESHES.labels("refreshed").inc()
                    self._store_refreshed_tokens(connection, tokens)
                    connection.last_refreshed_at = now
                    logger.info(
                        "connection.token_refreshed",
                        extra={
                            "connection_id": str(connection.id),
                            "access_token_expires_at": tokens.access_token_expires_at.isoformat(),
                        },
                    )
                    return RefreshResult(tokens.access_token, "refreshed")
        assert failure is not None
        raise failure

    @staticmethod
    def _refresh_blocked(
        connection: Connection, now: datetime, *, rejected: bool
    ) -> tuple[str, str] | None:
        """Return the (code, reason) why no refresh can be tried, or None when one can."""
        refresh_expires_at = connection.refresh_token_expires_at
        if connection.refresh_token_encrypted is None:
            cause = "this LinkedIn app receives no refresh tokens"
            code = "access_token_expired"
        elif refresh_expires_at is not None and refresh_expires_at <= now:
            cause = "the refresh token expired (365 days after sign-in)"
            code = "refresh_token_expired"
        else:
            return None
        if rejected:
            return "token_rejected", f"LinkedIn rejected the access token and {cause}"
        return code, f"the access token expired and {cause}"

    async def mark_needs_reconnect(
        self, connection_id: uuid.UUID, reason: str, code: str, *, rejected_token: str
    ) -> None:
        """Mark the connection unless its stored token is no longer `rejected_token`."""
        async with self.session_factory() as session, session.begin():
            connection = await repository.lock_connection(session, connection_id)
            if connection is None or connection.status != "active":
                return
            stored = connection.access_token_encrypted
            if stored is None or self.cipher.decrypt(stored) != rejected_token:
                return
            await self._mark_needs_reconnect(session, connection, reason, code)

    async def _mark_needs_reconnect(
        self, session: AsyncSession, connection: Connection, reason: str, code: str
    ) -> None:
        connection.status = "needs_reconnect"
        connection.status_reason = reason
        await add_event(
            session,
            workspace_id=connection.workspace_id,
            entity_type="connection",
            entity_id=str(connection.id),
            type="needs_reconnect",
            message=reason,
            connection_id=connection.id,
            data={"reason": code},
        )
        logger.warning(
            "connection.needs_reconnect",
            extra={"connection_id": str(connection.id), "reason": code},
        )


def is_token_rejection(error: ReconnectRequiredError) -> bool:
    return error.upstream is not None and error.upstream.status == 401


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
        if not is_token_rejection(error):
            raise
    token = await tokens.refresh(access.connection_id, rejected_token=access.access_token)
    try:
        return await call(token)
    except ReconnectRequiredError as error:
        if not is_token_rejection(error):
            raise
        await tokens.mark_needs_reconnect(
            access.connection_id,
            "LinkedIn rejected the access token right after a refresh",
            "token_rejected",
            rejected_token=token,
        )
        raise ReconnectRequiredError(
            RECONNECT_MESSAGE,
            operation=error.operation,
            upstream=error.upstream,
            reason="token_rejected",
        ) from error
