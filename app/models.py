"""Imports every table model so that `Base.metadata` is complete (Alembic, tests)."""

from app.connections.models import AdAccount, Connection, OAuthState
from app.core.database import Base
from app.events.models import Event
from app.idempotency.models import IdempotencyRecord
from app.linkedin.models import DryRunEntity

__all__ = [
    "AdAccount",
    "Base",
    "Connection",
    "DryRunEntity",
    "Event",
    "IdempotencyRecord",
    "OAuthState",
]
