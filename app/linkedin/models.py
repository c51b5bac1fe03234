"""Entities that dry-run writes made up, so later dry-run writes on them see their state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class DryRunEntity(Base):
    __tablename__ = "dry_run_entities"

    urn: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(128), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    # campaign_group | campaign | creative
    kind: Mapped[str] = mapped_column(String(32))
    # The entity as LinkedIn would return it.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
