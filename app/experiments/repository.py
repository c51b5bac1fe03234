"""SQL for experiments, their variants, ads and variant status history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.experiments.models import (
    Experiment,
    ExperimentAd,
    ExperimentVariant,
    VariantStatusChange,
)


async def find_by_creation_key(
    session: AsyncSession, workspace_id: str, key: str
) -> Experiment | None:
    result = await session.execute(
        select(Experiment)
        .where(Experiment.workspace_id == workspace_id, Experiment.creation_key == key)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def get(
    session: AsyncSession,
    workspace_id: str,
    account_id: int,
    experiment_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Experiment | None:
    statement = (
        select(Experiment)
        .where(
            Experiment.id == experiment_id,
            Experiment.workspace_id == workspace_id,
            Experiment.account_id == account_id,
        )
        .execution_options(populate_existing=True)
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for_account(
    session: AsyncSession, workspace_id: str, account_id: int
) -> Sequence[Experiment]:
    result = await session.execute(
        select(Experiment)
        .where(Experiment.workspace_id == workspace_id, Experiment.account_id == account_id)
        .order_by(Experiment.created_at.desc(), Experiment.id)
    )
    return result.scalars().all()


async def variants_of(
    session: AsyncSession, experiment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ExperimentVariant]]:
    result = await session.execute(
        select(ExperimentVariant)
        .where(ExperimentVariant.experiment_id.in_(list(experiment_ids)))
        .order_by(ExperimentVariant.experiment_id, ExperimentVariant.position)
        .execution_options(populate_existing=True)
    )
    grouped: dict[uuid.UUID, list[ExperimentVariant]] = {key: [] for key in experiment_ids}
    for variant in result.scalars():
        grouped[variant.experiment_id].append(variant)
    return grouped


async def ads_of(
    session: AsyncSession, experiment_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], list[ExperimentAd]]:
    result = await session.execute(
        select(ExperimentAd)
        .where(ExperimentAd.experiment_id.in_(list(experiment_ids)))
        .order_by(ExperimentAd.experiment_id, ExperimentAd.variant_key, ExperimentAd.position)
        .execution_options(populate_existing=True)
    )
    grouped: dict[tuple[uuid.UUID, str], list[ExperimentAd]] = {}
    for ad in result.scalars():
        grouped.setdefault((ad.experiment_id, ad.variant_key), []).append(ad)
    return grouped


async def add_experiment(
    session: AsyncSession,
    experiment: Experiment,
    variants: Sequence[ExperimentVariant],
    ads: Sequence[ExperimentAd],
) -> None:
    session.add(experiment)
    await session.flush()
    session.add_all(variants)
    await session.flush()
    session.add_all(ads)
    await session.flush()


async def update_experiment(session: AsyncSession, experiment_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(Experiment)
        .where(Experiment.id == experiment_id)
        .values(**values, updated_at=datetime.now(UTC))
    )


async def take_control_lease(
    session: AsyncSession, experiment_id: uuid.UUID, key: str, now: datetime, seconds: int
) -> bool:
    """Claim the experiment for one control call; False while another call has it."""
    result = await session.execute(
        update(Experiment)
        .where(
            Experiment.id == experiment_id,
            or_(
                Experiment.control_until.is_(None),
                Experiment.control_until < now,
                Experiment.control_key == key,
            ),
        )
        .values(control_key=key, control_until=now + timedelta(seconds=seconds))
        .returning(Experiment.id)
    )
    return result.scalar_one_or_none() is not None


async def release_control_lease(session: AsyncSession, experiment_id: uuid.UUID, key: str) -> None:
    await session.execute(
        update(Experiment)
        .where(Experiment.id == experiment_id, Experiment.control_key == key)
        .values(control_key=None, control_until=None)
    )


async def update_variant(
    session: AsyncSession, experiment_id: uuid.UUID, key: str, **values: Any
) -> None:
    await session.execute(
        update(ExperimentVariant)
        .where(ExperimentVariant.experiment_id == experiment_id, ExperimentVariant.key == key)
        .values(**values)
    )


async def update_ad(
    session: AsyncSession, experiment_id: uuid.UUID, key: str, position: int, **values: Any
) -> None:
    await session.execute(
        update(ExperimentAd)
        .where(
            ExperimentAd.experiment_id == experiment_id,
            ExperimentAd.variant_key == key,
            ExperimentAd.position == position,
        )
        .values(**values)
    )


async def add_status_change(
    session: AsyncSession, experiment_id: uuid.UUID, key: str, status: str, changed_at: datetime
) -> None:
    session.add(
        VariantStatusChange(
            experiment_id=experiment_id, variant_key=key, status=status, changed_at=changed_at
        )
    )
    await session.flush()


async def status_history(
    session: AsyncSession, experiment_id: uuid.UUID
) -> Sequence[VariantStatusChange]:
    result = await session.execute(
        select(VariantStatusChange)
        .where(VariantStatusChange.experiment_id == experiment_id)
        .order_by(VariantStatusChange.changed_at, VariantStatusChange.id)
    )
    return result.scalars().all()
