"""State changes seen on LinkedIn entities or on connections, since LinkedIn sends no webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_workspace_id_id", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(128))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ad_account_id: Mapped[int | None] = mapped_column(BigInteger)
    # campaign | ad_set | ad | connection | experiment
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(Text)
    # status_changed, creative_rejected, creative_approved, budget_hold, end_date_hold, completed,
    # needs_reconnect, refresh_token_expiring, ...
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    message: Mapped[str | None] = mapped_column(Text)
