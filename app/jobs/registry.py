"""The background jobs every replica runs; each job claims its own work in PostgreSQL."""

from __future__ import annotations

from typing import Any

from app.connections.jobs import JOB_NAME as TOKEN_JOB_NAME
from app.connections.jobs import TokenJob
from app.core.settings import Settings
from app.jobs.scheduler import Scheduler


def register_jobs(scheduler: Scheduler, state: Any, settings: Settings) -> None:
    """Add the periodic jobs to `scheduler`; `state` is the app state holding the services."""
    # The job runs often and syncs only accounts whose `next_sync_at` has passed, which the
    # sync sets `linkedin_ads_sync_interval_seconds` after each account's last sync.
    scheduler.add(
        "analytics_sync", min(60, settings.linkedin_ads_sync_interval_seconds), state.sync.run_once
    )
    state.token_job = TokenJob(state.tokens)
    scheduler.add(
        TOKEN_JOB_NAME, settings.linkedin_ads_token_refresh_interval_seconds, state.token_job.run
    )
