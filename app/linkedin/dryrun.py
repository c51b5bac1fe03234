"""Dry-run mode: synthetic responses shaped like LinkedIn's, with ids that cannot be real.

LinkedIn's ids are positive integers; a dry-run id is `dryrun-` and 16 hex digits derived from
the workspace and the idempotency key, so the same request always gets the same id.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.metrics import DRY_RUN_WRITES
from app.linkedin.models import DryRunEntity
from app.linkedin.payloads import DRY_RUN_PREFIX, epoch_ms


def synthetic_id(workspace_id: str, idempotency_key: str, kind: str) -> str:
    digest = hashlib.sha256(f"{workspace_id}\n{kind}\n{idempotency_key}".encode()).hexdigest()
    return DRY_RUN_PREFIX + digest[:16]


def synthesize(payload: dict[str, Any], entity_id: str, *, test: bool) -> dict[str, Any]:
    """Return the entity LinkedIn would store after creating `payload`."""
    now = epoch_ms(datetime.now(UTC))
    entity = copy.deepcopy(payload)
    entity.update(
        {
            "id": entity_id,
            "test": test,
            "servingStatuses": ["RUNNABLE"] if payload.get("status") == "ACTIVE" else ["STOPPED"],
            "version": {"versionTag": "1"},
            "changeAuditStamps": {"created": {"time": now}, "lastModified": {"time": now}},
        }
    )
    return entity


def apply_patch(entity: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(entity)
    updated.update(copy.deepcopy(changes))
    version = int((updated.get("version") or {}).get("versionTag", "1")) + 1
    updated["version"] = {"versionTag": str(version)}
    stamps = updated.setdefault("changeAuditStamps", {})
    stamps["lastModified"] = {"time": epoch_ms(datetime.now(UTC))}
    if "status" in changes:
        updated["servingStatuses"] = ["RUNNABLE"] if changes["status"] == "ACTIVE" else ["STOPPED"]
    return updated


def count_write(operation: str) -> None:
    """Count a dry-run write that stored nothing (an update of a real LinkedIn entity)."""
    DRY_RUN_WRITES.labels(operation).inc()


async def save(
    session: AsyncSession,
    *,
    workspace_id: str,
    account_id: int,
    kind: str,
    urn: str,
    body: dict[str, Any],
    operation: str,
) -> None:
    statement = insert(DryRunEntity).values(
        urn=urn, workspace_id=workspace_id, account_id=account_id, kind=kind, body=body
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DryRunEntity.urn],
            set_={"body": statement.excluded.body, "updated_at": func.now()},
        )
    )
    DRY_RUN_WRITES.labels(operation).inc()


async def load(
    session: AsyncSession, *, workspace_id: str, account_id: int, urn: str
) -> dict[str, Any] | None:
    entity = await session.get(DryRunEntity, urn)
    if entity is None or entity.workspace_id != workspace_id or entity.account_id != account_id:
        return None
    return dict(entity.body)
