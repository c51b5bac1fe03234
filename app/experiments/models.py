"""Experiments: one campaign group, one ad set (LinkedIn campaign) per variant, and its ads.

Each upstream entity has a `*_state` column that creation moves through `pending` (not yet
sent), `sending` (sent, outcome not recorded) and `created` (id stored). A create that stops
part way leaves these rows committed, so a retry can tell what exists and what to look for.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("workspace_id", "creation_key"),
        Index("ix_experiments_workspace_account", "workspace_id", "account_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    # creating | failed | running | concluded
    status: Mapped[str] = mapped_column(String(16))
    # ctr | conversion_rate: the metric that decides the winner.
    primary_metric: Mapped[str] = mapped_column(String(32))
    # The `Idempotency-Key` of the create request; a retry with it finds this row.
    creation_key: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    # The parent campaign (LinkedIn campaign group), given or created.
    campaign_id: Mapped[str | None] = mapped_column(Text)
    campaign_created: Mapped[bool] = mapped_column(Boolean)
    # pending | sending | created; `created` from the start for an existing campaign.
    campaign_state: Mapped[str] = mapped_column(String(16))
    winner_key: Mapped[str | None] = mapped_column(String(32))
    # The service error body of the last failed create, cleared when a retry completes.
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Lease of the control call (activate, pause, rotate, conclude) in progress, so two calls
    # with different keys cannot interleave their status changes.
    control_key: Mapped[str | None] = mapped_column(String(64))
    control_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExperimentVariant(Base):
    __tablename__ = "experiment_variants"

    experiment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    is_control: Mapped[bool] = mapped_column(Boolean)
    targeting: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ad_set_id: Mapped[str | None] = mapped_column(Text)
    ad_set_state: Mapped[str] = mapped_column(String(16))
    # The ad set's status as this service last set it: ACTIVE, PAUSED or ARCHIVED.
    status: Mapped[str | None] = mapped_column(String(16))


class ExperimentAd(Base):
    __tablename__ = "experiment_ads"
    __table_args__ = (
        ForeignKeyConstraint(
            ["experiment_id", "variant_key"],
            ["experiment_variants.experiment_id", "experiment_variants.key"],
            ondelete="CASCADE",
        ),
    )

    experiment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    variant_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ad_id: Mapped[str | None] = mapped_column(Text)
    ad_state: Mapped[str] = mapped_column(String(16))


class VariantStatusChange(Base):
    """A variant's ad set status from `changed_at` on; the results count its active days."""

    __tablename__ = "experiment_status_changes"
    __table_args__ = (
        Index("ix_experiment_status_changes_experiment", "experiment_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("experiments.id", ondelete="CASCADE")
    )
    variant_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
