"""SQL for connections, their ad accounts and OAuth states."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import AdAccount, Connection, OAuthState


async def add_oauth_state(
    session: AsyncSession,
    *,
    state_hash: str,
    workspace_id: str,
    return_url: str,
    expires_at: datetime,
) -> None:
    session.add(
        OAuthState(
            state_hash=state_hash,
            workspace_id=workspace_id,
            return_url=return_url,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def get_oauth_state(session: AsyncSession, state_hash: str) -> OAuthState | None:
    return await session.get(OAuthState, state_hash)


async def consume_oauth_state(session: AsyncSession, state_hash: str, now: datetime) -> bool:
    """Mark the state used; only the first of several concurrent callbacks gets True."""
    result = await session.execute(
        update(OAuthState)
        .where(OAuthState.state_hash == state_hash, OAuthState.used_at.is_(None))
        .values(used_at=now)
        .returning(OAuthState.state_hash)
    )
    return result.scalar_one_or_none() is not None


async def delete_expired_oauth_states(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(OAuthState).where(OAuthState.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def get_connection(
    session: AsyncSession, workspace_id: str, connection_id: uuid.UUID, *, for_update: bool = False
) -> Connection | None:
    statement = select(Connection).where(
        Connection.id == connection_id, Connection.workspace_id == workspace_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_connection_by_id(
    session: AsyncSession, connection_id: uuid.UUID, *, for_update: bool = False
) -> Connection | None:
    statement = select(Connection).where(Connection.id == connection_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_connections(session: AsyncSession, workspace_id: str) -> Sequence[Connection]:
    result = await session.execute(
        select(Connection)
        .where(Connection.workspace_id == workspace_id, Connection.status != "disconnected")
        .order_by(Connection.created_at)
    )
    return result.scalars().all()


async def find_connection_owning_accounts(
    session: AsyncSession, workspace_id: str, account_ids: Sequence[int]
) -> Connection | None:
    if not account_ids:
        return None
    result = await session.execute(
        select(Connection)
        .join(AdAccount, AdAccount.connection_id == Connection.id)
        .where(
            Connection.workspace_id == workspace_id,
            Connection.status != "disconnected",
            AdAccount.account_id.in_(account_ids),
        )
        .order_by(Connection.created_at)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def add_connection(session: AsyncSession, connection: Connection) -> Connection:
    session.add(connection)
    await session.flush()
    return connection


async def upsert_ad_accounts(
    session: AsyncSession,
    workspace_id: str,
    connection_id: uuid.UUID,
    accounts: Sequence[dict[str, Any]],
) -> None:
    """Insert or refresh the accounts; an account seen again moves to the newest connection."""
    if not accounts:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "connection_id": connection_id,
            **account,
        }
        for account in accounts
    ]
    statement = insert(AdAccount).values(rows)
    statement = statement.on_conflict_do_update(
        constraint="uq_ad_accounts_workspace_account",
        set_={
            "connection_id": statement.excluded.connection_id,
            "name": statement.excluded.name,
            "currency": statement.excluded.currency,
            "status": statement.excluded.status,
            "type": statement.excluded.type,
            "test": statement.excluded.test,
            "reference": statement.excluded.reference,
        },
    )
    await session.execute(statement)


async def list_ad_accounts(
    session: AsyncSession, workspace_id: str, connection_id: uuid.UUID | None = None
) -> Sequence[AdAccount]:
    statement = (
        select(AdAccount)
        .join(Connection, AdAccount.connection_id == Connection.id)
        .where(AdAccount.workspace_id == workspace_id, Connection.status != "disconnected")
        .order_by(AdAccount.account_id)
    )
    if connection_id is not None:
        statement = statement.where(AdAccount.connection_id == connection_id)
    return (await session.execute(statement)).scalars().all()


async def get_ad_account(
    session: AsyncSession, workspace_id: str, account_id: int
) -> AdAccount | None:
    result = await session.execute(
        select(AdAccount)
        .join(Connection, AdAccount.connection_id == Connection.id)
        .where(
            AdAccount.workspace_id == workspace_id,
            AdAccount.account_id == account_id,
            Connection.status != "disconnected",
        )
    )
    return result.scalar_one_or_none()


async def delete_ad_accounts(session: AsyncSession, connection_id: uuid.UUID) -> None:
    await session.execute(delete(AdAccount).where(AdAccount.connection_id == connection_id))


async def list_connections_due_for_refresh(
    session: AsyncSession, before: datetime, limit: int = 100
) -> Sequence[Connection]:
    result = await session.execute(
        select(Connection)
        .where(
            Connection.status == "active",
            Connection.access_token_expires_at < before,
        )
        .order_by(Connection.access_token_expires_at)
        .limit(limit)
    )
    return result.scalars().all()


async def list_active_connections(session: AsyncSession) -> Sequence[Connection]:
    result = await session.execute(select(Connection).where(Connection.status != "disconnected"))
    return result.scalars().all()


async def lock_connection(
    session: AsyncSession, connection_id: uuid.UUID, *, skip_locked: bool = False
) -> Connection | None:
    """Lock the row until the transaction ends and load its committed values.

    `FOR NO KEY UPDATE` leaves the `FOR KEY SHARE` locks that foreign-key checks on ad accounts
    take compatible. With `skip_locked`, a row locked elsewhere returns None.
    """
    statement = (
        select(Connection)
        .where(Connection.id == connection_id)
        .with_for_update(key_share=True, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_due_connection_ids(
    session: AsyncSession, due_before: datetime, now: datetime, limit: int
) -> Sequence[uuid.UUID]:
    """List active connections whose access token is due, soonest expiry first.

    A due token that cannot be refreshed (no refresh token, or an expired one) is listed only
    once it has expired, so such connections cannot fill every batch while they wait.
    """
    refreshable = and_(
        Connection.refresh_token_encrypted.is_not(None),
        or_(
            Connection.refresh_token_expires_at.is_(None), Connection.refresh_token_expires_at > now
        ),
    )
    result = await session.execute(
        select(Connection.id)
        .where(
            Connection.status == "active",
            Connection.access_token_expires_at < due_before,
            or_(refreshable, Connection.access_token_expires_at <= now),
        )
        .order_by(Connection.access_token_expires_at)
        .limit(limit)
    )
    return result.scalars().all()


def expiring_clause(refresh_before: datetime, access_before: datetime) -> ColumnElement[bool]:
    """Match grants that end soon: by the refresh token, or by the access token without one."""
    return or_(
        and_(
            Connection.refresh_token_encrypted.is_not(None),
            Connection.refresh_token_expires_at < refresh_before,
        ),
        and_(
            Connection.refresh_token_encrypted.is_(None),
            Connection.access_token_expires_at < access_before,
        ),
    )


async def list_connections_to_warn(
    session: AsyncSession, refresh_before: datetime, access_before: datetime, limit: int = 500
) -> Sequence[uuid.UUID]:
    result = await session.execute(
        select(Connection.id)
        .where(
            Connection.status == "active",
            Connection.expiry_warned_at.is_(None),
            expiring_clause(refresh_before, access_before),
        )
        .limit(limit)
    )
    return result.scalars().all()


async def claim_expiry_warning(
    session: AsyncSession, connection_id: uuid.UUID, now: datetime
) -> Connection | None:
    """Set `expiry_warned_at` unless another worker did; only the first caller gets the row."""
    result = await session.execute(
        update(Connection)
        .where(
            Connection.id == connection_id,
            Connection.status == "active",
            Connection.expiry_warned_at.is_(None),
        )
        .values(expiry_warned_at=now)
        .returning(Connection)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def clear_expiry_warnings(
    session: AsyncSession, refresh_before: datetime, access_before: datetime
) -> int:
    """Re-arm the warning of connections that left the window, e.g. after a reconnect."""
    result = await session.execute(
        update(Connection)
        .where(
            Connection.expiry_warned_at.is_not(None),
            ~expiring_clause(refresh_before, access_before),
        )
        .values(expiry_warned_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_connections_by_health(
    session: AsyncSession, refresh_before: datetime, access_before: datetime
) -> dict[str, int]:
    """Count connections that need a reconnect and active ones whose grant ends soon."""
    has_refresh = Connection.refresh_token_encrypted.is_not(None)
    active = Connection.status == "active"
    row = (
        await session.execute(
            select(
                func.count().filter(Connection.status == "needs_reconnect"),
                func.count().filter(
                    active, has_refresh, Connection.refresh_token_expires_at < refresh_before
                ),
                func.count().filter(
                    active, ~has_refresh, Connection.access_token_expires_at < access_before
                ),
            )
        )
    ).one()
    return {
        "needs_reconnect": row[0],
        "refresh_token_expiring": row[1],
        "access_token_expiring": row[2],
    }


async def lock_connections_with_tokens(
    session: AsyncSession, after_id: uuid.UUID | None, limit: int
) -> Sequence[Connection]:
    """Lock the next `limit` connections (by id) that store at least one token."""
    statement = (
        select(Connection)
        .where(
            or_(
                Connection.access_token_encrypted.is_not(None),
                Connection.refresh_token_encrypted.is_not(None),
            )
        )
        .order_by(Connection.id)
        .limit(limit)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if after_id is not None:
        statement = statement.where(Connection.id > after_id)
    return (await session.execute(statement)).scalars().all()
