"""The service's own write idempotency, since LinkedIn ignores `Idempotency-Key`.

A write runs at most once per (workspace, key):
- the first request claims the key and commits the claim before it runs the write (a dry-run
  write, which sends nothing upstream, stores its outcome in one transaction instead);
- a repeat with the same body gets the stored response (status and body);
- a repeat with a different body is rejected (422);
- a repeat while the first is still running gets 409, with a retry time;
- a claim whose holder died (its lock lapsed) is taken over, and the write's own
  unknown-outcome handling then looks in LinkedIn before creating anything again.
Failures that another attempt could fix (quota, upstream unavailable) release the key, so a
retry runs the write again, unless the request may have reached LinkedIn, which keeps the claim;
other errors are stored like successes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, IdempotencyMismatchError, InvalidInputError, ServiceError
from app.idempotency.models import IdempotencyRecord

logger = logging.getLogger(__name__)

LOCK_SECONDS = 120
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(operation: str, target: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{operation}\n{target}\n{canonical}".encode()).hexdigest()


def validate_key(key: str | None) -> str:
    if key is None:
        return uuid.uuid4().hex
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters",
            operation=None,
        )
    return key


# How far before a create's own start LinkedIn's creation time of its entity may lie, to allow
# for clock differences between this service and LinkedIn.
CREATE_CLOCK_SKEW = timedelta(seconds=60)
# How far back a resumed create looks, since its first attempt may have been minutes earlier.
RESUMED_CREATE_WINDOW = timedelta(minutes=15)


def created_since(started: datetime, resumed: bool) -> datetime:
    """Return the earliest creation time that an entity made by this create can have."""
    return started - (RESUMED_CREATE_WINDOW if resumed else CREATE_CLOCK_SKEW)


async def claimed_urns(session: AsyncSession, urns: Sequence[str]) -> set[str]:
    """Return which of `urns` a completed write of any workspace already returned.

    A create whose outcome is unknown looks in LinkedIn for what it may have made; an entity
    another request already returned is not it, however alike the two look.
    """
    if not urns:
        return set()
    urn = IdempotencyRecord.response_body["urn"].astext
    rows = await session.execute(
        select(urn).where(IdempotencyRecord.state == "completed", urn.in_(list(urns)))
    )
    return {str(value) for value in rows.scalars()}


class IdempotencyStore:
    """Runs writes at most once per key, on the request's own session.

    The store commits that session itself: the claim must be durable before anything goes
    upstream, and a failure's outcome must survive the request's rollback. Using the request's
    session (never a second one) keeps each request to one pooled connection, so a burst of
    writes cannot exhaust the pool waiting on itself.
    """

    async def run(
        self,
        session: AsyncSession,
        *,
        workspace_id: str,
        key: str,
        operation: str,
        target: str,
        body: Any,
        write: Callable[[bool], Awaitable[tuple[int, dict[str, Any]]]],
        writes_upstream: bool = True,
    ) -> StoredResponse:
        """Run `write(resumed)` once for this key, or return the stored outcome.

        `writes_upstream=False` (dry-run writes) skips the separately committed claim: nothing
        leaves the service, so the outcome is stored in the request's own transaction.
        """
        digest = fingerprint(operation, target, body)
        if not writes_upstream:
            return await self._run_local(session, workspace_id, key, operation, digest, write)
        resumed = await self._claim(session, workspace_id, key, operation, digest)
        if isinstance(resumed, StoredResponse):
            return resumed
        return await self._run_claimed(session, workspace_id, key, resumed, write)

    async def _run_claimed(
        self,
        session: AsyncSession,
        workspace_id: str,
        key: str,
        resumed: bool,
        write: Callable[[bool], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> StoredResponse:
        try:
            status, response = await write(resumed)
        except ServiceError as error:
            await session.rollback()
            if getattr(error, "sent", False):
                # The request may have reached LinkedIn: keep the claim for the next attempt.
                await self._unlock(session, workspace_id, key)
            elif error.retryable:
                await self._release(session, workspace_id, key)
            else:
                await self._complete(
                    session, workspace_id, key, error.status_code, {"error": error.to_json()}
                )
            await session.commit()
            raise
        except BaseException:
            # Outcome unknown (cancelled, crashed): let the next attempt take over at once.
            await session.rollback()
            await self._unlock(session, workspace_id, key)
            await session.commit()
            raise
        # Committed with the rest of the request; if that commit fails, the claim stays
        # in progress and the next attempt resumes it.
        await self._complete(session, workspace_id, key, status, response)
        return StoredResponse(status, response, False)

    async def _run_local(
        self,
        session: AsyncSession,
        workspace_id: str,
        key: str,
        operation: str,
        digest: str,
        write: Callable[[bool], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> StoredResponse:
        existing = await session.scalar(
            select(IdempotencyRecord.key).where(self._where(workspace_id, key))
        )
        if existing is not None:
            claimed = await self._claim(session, workspace_id, key, operation, digest)
            if isinstance(claimed, StoredResponse):
                return claimed
            # The key was released or its holder died in the meantime; it is ours now.
            return await self._run_claimed(session, workspace_id, key, claimed, write)
        try:
            status, response = await write(False)
        except ServiceError as error:
            await session.rollback()
            if not error.retryable:
                await self._insert_completed(
                    session,
                    workspace_id,
                    key,
                    operation,
                    digest,
                    error.status_code,
                    {"error": error.to_json()},
                )
                await session.commit()
            raise
        if await self._insert_completed(
            session, workspace_id, key, operation, digest, status, response
        ):
            return StoredResponse(status, response, False)
        # A concurrent duplicate stored its outcome first, so drop ours and return that one.
        await session.rollback()
        stored = await self._claim(session, workspace_id, key, operation, digest)
        assert isinstance(stored, StoredResponse)
        return stored

    async def _insert_completed(
        self,
        session: AsyncSession,
        workspace_id: str,
        key: str,
        operation: str,
        digest: str,
        status: int,
        body: dict[str, Any],
    ) -> bool:
        inserted = await session.execute(
            insert(IdempotencyRecord)
            .values(
                workspace_id=workspace_id,
                key=key,
                operation=operation,
                fingerprint=digest,
                state="completed",
                response_status=status,
                response_body=body,
                completed_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        return inserted.scalar_one_or_none() is not None

    async def _claim(
        self, session: AsyncSession, workspace_id: str, key: str, operation: str, digest: str
    ) -> bool | StoredResponse:
        """Claim the key and commit; return whether an earlier attempt is being resumed."""
        now = datetime.now(UTC)
        inserted = await session.execute(
            insert(IdempotencyRecord)
            .values(
                workspace_id=workspace_id,
                key=key,
                operation=operation,
                fingerprint=digest,
                state="in_progress",
                locked_until=now + timedelta(seconds=LOCK_SECONDS),
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if inserted.scalar_one_or_none() is not None:
            await session.commit()
            return False
        record = (
            await session.execute(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
                .with_for_update()
            )
        ).scalar_one()
        if record.fingerprint != digest:
            earlier_operation = record.operation
            await session.rollback()
            raise IdempotencyMismatchError(
                f"Idempotency-Key {key!r} was already used for a different request "
                f"({earlier_operation}); use a new key for a new request",
                operation=operation,
            )
        if record.state == "completed":
            assert record.response_status is not None and record.response_body is not None
            stored = StoredResponse(record.response_status, record.response_body, True)
            await session.rollback()
            return stored
        if record.locked_until is not None and record.locked_until > now:
            wait = (record.locked_until - now).total_seconds()
            await session.rollback()
            raise ConflictError(
                f"a request with Idempotency-Key {key!r} is still in progress; retry after it "
                "finishes",
                operation=operation,
                retry_after_seconds=min(wait, 5.0),
                reason="idempotency_in_progress",
            )
        # The earlier holder died or left the outcome unknown: `write(resumed=True)` must look
        # in LinkedIn before creating anything.
        record.locked_until = now + timedelta(seconds=LOCK_SECONDS)
        await session.commit()
        logger.info("idempotency.takeover", extra={"operation": operation})
        return True

    @staticmethod
    def _where(workspace_id: str, key: str) -> Any:
        return (IdempotencyRecord.workspace_id == workspace_id) & (IdempotencyRecord.key == key)

    async def _complete(
        self,
        session: AsyncSession,
        workspace_id: str,
        key: str,
        status: int,
        body: dict[str, Any],
    ) -> None:
        await session.execute(
            update(IdempotencyRecord)
            .where(self._where(workspace_id, key))
            .values(
                state="completed",
                response_status=status,
                response_body=body,
                completed_at=datetime.now(UTC),
                locked_until=None,
            )
        )

    async def _release(self, session: AsyncSession, workspace_id: str, key: str) -> None:
        await session.execute(
            delete(IdempotencyRecord).where(
                self._where(workspace_id, key), IdempotencyRecord.state == "in_progress"
            )
        )

    async def _unlock(self, session: AsyncSession, workspace_id: str, key: str) -> None:
        await session.execute(
            update(IdempotencyRecord)
            .where(self._where(workspace_id, key))
            .values(locked_until=datetime.now(UTC))
        )
