"""Imports every table model so that `Base.metadata` is complete (Alembic, tests)."""

from app.analytics.models import AnalyticsDaily, AnalyticsPull, EntityState, FxRate
from app.connections.models import AdAccount, Connection, OAuthState
from app.core.database import Base
from app.events.models import Event
from app.experiments.models import (
    Experiment,
    ExperimentAd,
    ExperimentVariant,
    VariantStatusChange,
)
from app.idempotency.models import IdempotencyRecord
from app.linkedin.models import DryRunEntity

__all__ = [
    "AdAccount",
    "AnalyticsDaily",
    "AnalyticsPull",
    "Base",
    "Connection",
    "DryRunEntity",
    "EntityState",
    "Event",
    "Experiment",
    "ExperimentAd",
    "ExperimentVariant",
    "FxRate",
    "IdempotencyRecord",
    "OAuthState",
    "VariantStatusChange",
]
