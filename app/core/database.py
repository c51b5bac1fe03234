"""The async SQLAlchemy engine and the per-request session, which commits once at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.core.errors import DependencyUnavailableError

# Constraint names that stay stable between autogenerate runs and read well in error messages.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=20,
        # No pre-ping: it costs a round trip on every checkout. A connection broken by a
        # PostgreSQL restart fails one request with a retryable 503 and is then replaced.
        pool_recycle=1800,
        pool_timeout=10,
        connect_args={"timeout": 5, "command_timeout": 60},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session; commit when the route returns, roll back when it raises."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    try:
        async with factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
    except (OperationalError, OSError, DBAPIError) as error:
        if (
            isinstance(error, DBAPIError)
            and not error.connection_invalidated
            and not isinstance(error, OperationalError)
        ):
            raise
        raise DependencyUnavailableError(
            "PostgreSQL is unavailable; try again shortly", reason="database_unavailable"
        ) from error


SessionDep = Annotated[AsyncSession, Depends(get_session)]
