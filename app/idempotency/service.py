"""The service's own write idempotency, since LinkedIn ignores `Idempotency-Key`.

A write runs at most once per (workspace, key):
- the first request claims the key in its own committed transaction and runs the write;
- a repeat with the same body gets the stored answer (status and body);
- a repeat with a different body is rejected (422);
- a repeat while the first is still running gets 409, with a retry time;
- a claim whose holder died (its lock lapsed) is taken over, and the write's own
  unknown-outcome handling then looks in LinkedIn before creating anything again.
Failures that another attempt could fix (quota, upstream unavailable) release the key, so a
retry runs the write again; other errors are stored like successes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


class IdempotencyStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def run(
        self,
        *,
        workspace_id: str,
        key: str,
        operation: str,
        target: str,
        body: Any,
        write: Callable[[bool], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> StoredResponse:
        digest = fingerprint(operation, target, body)
        now = datetime.now(UTC)
        async with self.session_factory() as session, session.begin():
            inserted = await session.execute(
                insert(IdempotencyRecord)
                .values(workspace_id=workspace_id, key=key, operation=operation,
                        fingerprint=digest, state="in_progress",
                        locked_until=now + timedelta(seconds=LOCK_SECONDS))
                .on_conflict_do_nothing()
                .returning(IdempotencyRecord.key)
            )
            claimed = inserted.scalar_one_or_none() is not None
            if not claimed:
                record = (await session.execute(
                    select(IdempotencyRecord)
                    .where(IdempotencyRecord.workspace_id == workspace_id,
                           IdempotencyRecord.key == key)
                    .with_for_update()
                )).scalar_one()
                if record.fingerprint != digest:
                    raise IdempotencyMismatchError(
                        f"Idempotency-Key {key!r} was already used for a different request "
                        f"({record.operation}); use a new key for a new request",
                        operation=operation,
                    )
                if record.state == "completed":
                    assert record.response_status is not None and record.response_body is not None
                    return StoredResponse(record.response_status, record.response_body, True)
                if record.locked_until is not None and record.locked_until > now:
                    wait = (record.locked_until - now).total_seconds()
                    raise ConflictError(
                        f"a request with Idempotency-Key {key!r} is still in progress; retry "
                        "after it finishes",
                        operation=operation, retry_after_seconds=min(wait, 5.0),
                        reason="idempotency_in_progress",
                    )
                # The earlier holder died or left the outcome unknown: `write(resumed=True)`
                # must look in LinkedIn before creating anything.
                record.locked_until = now + timedelta(seconds=LOCK_SECONDS)
                logger.info("idempotency.takeover", extra={"operation": operation})

        try:
            status, response = await write(not claimed)
        except ServiceError as error:
            if getattr(error, "sent", False):
                # The request may have reached LinkedIn: keep the claim for the next attempt.
                await self._unlock(workspace_id, key)
            elif error.retryable:
                await self._release(workspace_id, key)
            else:
                await self._complete(workspace_id, key, error.status_code,
                                     {"error": error.to_json()})
            raise
        except BaseException:
            # Outcome unknown (cancelled, crashed): let the next attempt take over at once.
            await self._unlock(workspace_id, key)
            raise
        await self._complete(workspace_id, key, status, response)
        return StoredResponse(status, response, False)

    async def _complete(
        self, workspace_id: str, key: str, status: int, body: dict[str, Any]
    ) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
                .values(state="completed", response_status=status, response_body=body,
                        completed_at=datetime.now(UTC), locked_until=None)
            )

    async def _release(self, workspace_id: str, key: str) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key,
                    IdempotencyRecord.state == "in_progress",
                )
            )

    async def _unlock(self, workspace_id: str, key: str) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
                .values(locked_until=datetime.now(UTC))
            )
