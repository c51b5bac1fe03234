"""The token job: refresh access tokens ahead of expiry and warn before grants end.

Every replica runs it. Each refresh takes the connection's row lock with `SKIP LOCKED`, so
replicas spread the due connections between them, and a warning is claimed by a conditional
UPDATE, so only one replica records it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge

from app.connections import repository
from app.connections.models import Connection
from app.connections.tokens import TokenService
from app.core.errors import NotFoundError, ReconnectRequiredError, ServiceError
from app.core.metrics import PREFIX
from app.events.repository import add_event

logger = logging.getLogger(__name__)

JOB_NAME = "refresh_tokens"
# Maximum connections refreshed per run. The rest wait for the next run, which comes long
# before their tokens expire while the refresh margin (7 days by default) is much longer than
# the job interval (15 minutes by default).
BATCH_SIZE = 500

CONNECTIONS_NEEDING_RECONNECT = Gauge(
    PREFIX + "connections_needing_reconnect",
    "Connections whose grant ended; the member must connect again.",
)
CONNECTIONS_EXPIRING = Gauge(
    PREFIX + "connections_expiring",
    "Active connections whose grant ends soon, by the token that ends it: refresh (within the "
    "warning days) or access (apps without refresh tokens, within the refresh margin).",
    ["token"],
)


@dataclass
class TokenJobReport:
    # Refresh outcomes by name: refreshed, current, kept, locked, needs_reconnect, failed.
    refreshes: Counter[str] = field(default_factory=Counter)
    warnings: int = 0
    health: dict[str, int] = field(default_factory=dict)


def warning_message(connection: Connection, now: datetime) -> tuple[str, str, datetime]:
    """Return the event type, message and end time of the warning for `connection`."""
    if connection.refresh_token_encrypted is not None:
        assert connection.refresh_token_expires_at is not None
        ends_at = connection.refresh_token_expires_at
        kind, subject = "refresh_token_expiring", "refresh token"
    else:
        assert connection.access_token_expires_at is not None
        ends_at = connection.access_token_expires_at
        kind, subject = "access_token_expiring", "access token (this app gets no refresh tokens)"
    days = max(0, (ends_at - now) // timedelta(days=1))
    message = (
        f"The LinkedIn {subject} expires on {ends_at:%Y-%m-%d %H:%M} UTC, in {days} days. "
        "Connect LinkedIn Ads again before then to keep the connection working."
    )
    return kind, message, ends_at


class TokenJob:
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.settings = tokens.settings

    def _windows(self, now: datetime) -> tuple[datetime, datetime]:
        """Return the expiry bounds below which refresh tokens and access tokens count as ending."""
        refresh_before = now + timedelta(days=self.settings.linkedin_ads_refresh_token_warning_days)
        access_before = now + timedelta(
            seconds=self.settings.linkedin_ads_token_refresh_margin_seconds
        )
        return refresh_before, access_before

    async def run(self) -> TokenJobReport:
        report = TokenJobReport()
        await self.refresh_due(report)
        await self.record_warnings(report)
        await self.update_gauges(report)
        logger.info(
            "job.refresh_tokens.finished",
            extra={"refreshes": dict(report.refreshes), "warnings": report.warnings},
        )
        return report

    async def refresh_due(self, report: TokenJobReport) -> None:
        now = datetime.now(UTC)
        _, due_before = self._windows(now)
        async with self.tokens.session_factory() as session:
            ids = await repository.list_due_connection_ids(session, due_before, now, BATCH_SIZE)
        for connection_id in ids:
            try:
                result = await self.tokens.refresh_locked(connection_id, skip_locked=True)
            except ReconnectRequiredError:
                report.refreshes["needs_reconnect"] += 1
            except NotFoundError:
                # Disconnected after the query above.
                report.refreshes["current"] += 1
            except ServiceError as error:
                report.refreshes["failed"] += 1
                logger.warning(
                    "job.refresh_tokens.refresh_failed",
                    extra={"connection_id": str(connection_id), "error": error.message},
                )
            else:
                report.refreshes[result.outcome] += 1

    async def record_warnings(self, report: TokenJobReport) -> None:
        now = datetime.now(UTC)
        refresh_before, access_before = self._windows(now)
        async with self.tokens.session_factory() as session, session.begin():
            await repository.clear_expiry_warnings(session, refresh_before, access_before)
            candidates = await repository.list_connections_to_warn(
                session, refresh_before, access_before
            )
        for connection_id in candidates:
            async with self.tokens.session_factory() as session, session.begin():
                connection = await repository.claim_expiry_warning(session, connection_id, now)
                if connection is None:
                    continue  # another replica recorded it
                kind, message, ends_at = warning_message(connection, now)
                await add_event(
                    session,
                    workspace_id=connection.workspace_id,
                    entity_type="connection",
                    entity_id=str(connection.id),
                    type=kind,
                    message=message,
                    connection_id=connection.id,
                    data={"expiresAt": ends_at.isoformat()},
                )
            report.warnings += 1
            logger.warning(
                "connection.grant_expiring",
                extra={
                    "connection_id": str(connection_id),
                    "event": kind,
                    "expires_at": ends_at.isoformat(),
                },
            )

    async def update_gauges(self, report: TokenJobReport) -> None:
        refresh_before, access_before = self._windows(datetime.now(UTC))
        async with self.tokens.session_factory() as session:
            health = await repository.count_connections_by_health(
                session, refresh_before, access_before
            )
        CONNECTIONS_NEEDING_RECONNECT.set(health["needs_reconnect"])
        CONNECTIONS_EXPIRING.labels("refresh").set(health["refresh_token_expiring"])
        CONNECTIONS_EXPIRING.labels("access").set(health["access_token_expiring"])
        report.health = health
