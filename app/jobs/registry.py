"""The background jobs every replica runs; each job claims its own work in PostgreSQL."""

from __future__ import annotations

from typing import Any

from app.core.settings import Settings
from app.jobs.scheduler import Scheduler


def register_jobs(scheduler: Scheduler, state: Any, settings: Settings) -> None:
    """Add the periodic jobs to `scheduler`; `state` is the app state holding the services."""
