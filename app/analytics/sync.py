"""The hourly sync: claim due ad accounts, read entity states into events, re-pull analytics.

Several workers (replicas, or the CLI beside a server) may run it at once. Each claims batches of
due accounts in PostgreSQL (`claim_due_accounts`), so every account is synced by one of them.
Accounts of one connection in a batch share analytics calls.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.analytics import repository
from app.analytics.changes import (
    CAMPAIGN_STATUSES,
    Observed,
    changes,
    observe_campaign,
    observe_creative,
    observe_group,
)
from app.analytics.ingest import store_pull
from app.analytics.pull import CORE_METRICS, LEVEL_PIVOTS, AnalyticsPuller
from app.analytics.repository import ClaimedAccount
from app.analytics.schemas import AccountSyncStatus, SyncStatus
from app.connections.tokens import AccountAccess, TokenService, call_with_token
from app.core.errors import ServiceError
from app.core.settings import Settings
from app.events.repository import add_event
from app.linkedin.client import LinkedInClient, account_path
from app.linkedin.errors import LinkedInThrottledError, ThrottleKind, next_utc_midnight
from app.linkedin.restli import campaign_groups_search, campaigns_search, creatives_criteria

logger = logging.getLogger(__name__)

SYNC_ACCOUNTS = Counter(
    "linkedin_ads_sync_accounts_total",
    "Ad accounts the sync finished, by outcome (ok, failed).",
    ["outcome"],
)
SYNC_ROWS = Counter("linkedin_ads_sync_rows_total", "Analytics rows stored by the sync.", ["level"])
ANALYTICS_CALLS = Counter(
    "linkedin_ads_analytics_calls_total",
    "adAnalytics calls, by level and whether the row cap truncated them.",
    ["level", "result"],
)
SYNC_EVENTS = Counter("linkedin_ads_sync_events_total", "State-change events recorded.", ["type"])
SYNC_LAG = Gauge(
    "linkedin_ads_sync_lag_seconds",
    "Seconds since the least recently synced connected ad account was synced.",
)
SYNC_FAILING = Gauge(
    "linkedin_ads_sync_accounts_failing", "Connected ad accounts whose last sync failed."
)
SYNC_NEVER = Gauge(
    "linkedin_ads_sync_accounts_never_synced", "Connected ad accounts not synced yet."
)
SYNC_RUN_DONE = Gauge(
    "linkedin_ads_sync_run_accounts_done",
    "Ad accounts finished by this process's current or last sync run.",
)

# Accounts whose state reads run at once within one batch.
CONCURRENT_ACCOUNTS = 8
# Wait before retrying an account after a failure that gives no retry time.
FAILURE_RETRY = timedelta(minutes=5)
# LinkedIn's analytics data throttle counts metric values over 5 minutes.
VOLUME_THROTTLE_RETRY = timedelta(minutes=5)
LEVELS = tuple(LEVEL_PIVOTS)

Progress = Callable[[int, int], None]


@dataclass
class SyncRunResult:
    accounts_ok: int = 0
    accounts_failed: int = 0
    rows: int = 0
    analytics_calls: int = 0
    events: int = 0
    account_ids: list[int] = field(default_factory=list)


@dataclass
class _AccountState:
    claimed: ClaimedAccount
    # Entities seen per level, the bound on analytics rows per day.
    entity_counts: dict[str, int] = field(default_factory=dict)
    error: ServiceError | None = None


def retry_time(error: BaseException, now: datetime) -> datetime:
    if isinstance(error, LinkedInThrottledError):
        if error.kind is ThrottleKind.DAILY:
            return next_utc_midnight(now)
        if error.kind is ThrottleKind.ANALYTICS_VOLUME:
            return now + VOLUME_THROTTLE_RETRY
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        return now + timedelta(seconds=retry_after)
    return now + FAILURE_RETRY


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class SyncService:
    def __init__(
        self,
        *,
        settings: Settings,
        linkedin: LinkedInClient,
        tokens: TokenService,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.linkedin = linkedin
        self.tokens = tokens
        self.session_factory = session_factory
        self.puller = AnalyticsPuller(linkedin)
        self.worker_id = uuid.uuid4().hex[:8]

    # ---- one run -----------------------------------------------------------------------------

    async def run_once(self, progress: Progress | None = None) -> SyncRunResult:
        """Sync every account that is due, batch by batch, until none is left."""
        result = SyncRunResult()
        SYNC_RUN_DONE.set(0)
        total_due = await self._count_due()
        while True:
            now = datetime.now(UTC)
            lease = timedelta(seconds=self.settings.linkedin_ads_sync_claim_lease_seconds)
            async with self.session_factory() as session, session.begin():
                claimed = await repository.claim_due_accounts(
                    session,
                    now=now,
                    lease_until=now + lease,
                    limit=self.settings.linkedin_ads_sync_claim_batch,
                )
            if not claimed:
                break
            logger.info(
                "sync.claimed",
                extra={"worker": self.worker_id, "accounts": [a.account_id for a in claimed]},
            )
            end = now.date()
            start = end - timedelta(days=self.settings.linkedin_ads_sync_window_days - 1)
            await self._sync_batch(claimed, start, end, result, read_states=True)
            done = result.accounts_ok + result.accounts_failed
            SYNC_RUN_DONE.set(done)
            if progress is not None:
                progress(done, max(total_due, done))
        await self.update_gauges()
        logger.info(
            "sync.finished",
            extra={
                "worker": self.worker_id,
                "accounts_ok": result.accounts_ok,
                "accounts_failed": result.accounts_failed,
                "rows": result.rows,
                "analytics_calls": result.analytics_calls,
                "events": result.events,
            },
        )
        return result

    async def backfill(
        self,
        account_id: int,
        start: date,
        end: date,
        *,
        workspace_id: str | None = None,
        progress: Progress | None = None,
    ) -> SyncRunResult:
        """Pull analytics of one account for any range, without touching its sync schedule."""
        async with self.session_factory() as session:
            accounts = await repository.find_connected_accounts(session, workspace_id, account_id)
        if not accounts:
            raise ValueError(
                f"ad account {account_id} is not connected"
                + (f" in workspace {workspace_id}" if workspace_id else "")
            )
        result = SyncRunResult()
        # 90-day windows one after another, so that progress shows and memory stays bounded.
        windows = []
        first = start
        while first <= end:
            last = min(end, first + timedelta(days=89))
            windows.append((first, last))
            first = last + timedelta(days=1)
        for index, (first, last) in enumerate(windows, start=1):
            await self._sync_batch(accounts, first, last, result, read_states=False)
            if progress is not None:
                progress(index, len(windows))
        return result

    async def _count_due(self) -> int:
        async with self.session_factory() as session:
            rows = await repository.sync_status_rows(session)
        now = datetime.now(UTC)
        return sum(1 for row in rows if row.next_sync_at is None or row.next_sync_at <= now)

    # ---- one batch ---------------------------------------------------------------------------

    async def _sync_batch(
        self,
        claimed: Sequence[ClaimedAccount],
        start: date,
        end: date,
        result: SyncRunResult,
        *,
        read_states: bool,
    ) -> None:
        by_connection: dict[uuid.UUID, list[ClaimedAccount]] = defaultdict(list)
        for account in claimed:
            by_connection[account.connection_id].append(account)
        for connection_id, accounts in by_connection.items():
            states = [_AccountState(account) for account in accounts]
            try:
                token = await self.tokens.access_token(connection_id)
            except ServiceError as error:
                for state in states:
                    state.error = error
                await self._finish(states, result, update_schedule=read_states)
                continue
            first = accounts[0]
            access = AccountAccess(
                first.workspace_id, first.account_id, first.currency, connection_id, token
            )
            if read_states:
                await self._read_all_states(access, states, result)
            readable = [state for state in states if state.error is None]
            if readable:
                await self._pull_analytics(
                    access, readable, start, end, result, use_bounds=read_states
                )
            await self._finish(states, result, update_schedule=read_states)

    async def _finish(
        self, states: Sequence[_AccountState], result: SyncRunResult, *, update_schedule: bool
    ) -> None:
        now = datetime.now(UTC)
        ok = [state.claimed for state in states if state.error is None]
        failed = [state for state in states if state.error is not None]
        result.accounts_ok += len(ok)
        result.accounts_failed += len(failed)
        result.account_ids.extend(state.claimed.account_id for state in states)
        SYNC_ACCOUNTS.labels("ok").inc(len(ok))
        SYNC_ACCOUNTS.labels("failed").inc(len(failed))
        if not update_schedule:
            for state in failed:
                assert state.error is not None
                raise state.error
            return
        interval = timedelta(seconds=self.settings.linkedin_ads_sync_interval_seconds)
        async with self.session_factory() as session, session.begin():
            if ok:
                await repository.finish_sync(
                    session, [a.id for a in ok], now=now, next_sync_at=now + interval
                )
            for state in failed:
                assert state.error is not None
                logger.warning(
                    "sync.account_failed",
                    extra={"account_id": state.claimed.account_id, "error": describe(state.error)},
                )
                await repository.fail_sync(
                    session,
                    [state.claimed.id],
                    error=describe(state.error),
                    retry_at=retry_time(state.error, now),
                )

    # ---- entity states and events ------------------------------------------------------------

    async def _read_all_states(
        self, access: AccountAccess, states: Sequence[_AccountState], result: SyncRunResult
    ) -> None:
        gate = asyncio.Semaphore(CONCURRENT_ACCOUNTS)

        async def read(state: _AccountState) -> None:
            async with gate:
                await self._read_states(access, state, result)

        await asyncio.gather(*(read(state) for state in states))

    async def _read_states(
        self, access: AccountAccess, state: _AccountState, result: SyncRunResult
    ) -> None:
        account = state.claimed.account_id
        scope = str(account)

        async def read_all(token: str) -> list[Observed]:
            groups = await self.linkedin.find_all(
                "list_campaign_groups",
                account_path(account, "adCampaignGroups"),
                token=token,
                scope=scope,
                params=campaign_groups_search(),
                page_size=1000,
            )
            campaigns = await self.linkedin.find_all(
                "list_campaigns",
                account_path(account, "adCampaigns"),
                token=token,
                scope=scope,
                params=campaigns_search(statuses=CAMPAIGN_STATUSES),
                page_size=1000,
            )
            creatives = await self.linkedin.find_all(
                "list_creatives",
                account_path(account, "creatives"),
                token=token,
                scope=scope,
                params=creatives_criteria(),
                page_size=100,
            )
            return (
                [observe_group(e) for e in groups]
                + [observe_campaign(e) for e in campaigns]
                + [observe_creative(e) for e in creatives]
            )

        try:
            observed = await call_with_token(self.tokens, access, read_all)
        except ServiceError as error:
            state.error = error
            return
        counts = {"campaign": 0, "ad_set": 0, "ad": 0}
        for item in observed:
            counts[item.entity_type] += 1
        state.entity_counts = counts
        # Await first, then add: `result.events += await ...` reads the total before the
        # await, so concurrent accounts would overwrite each other's counts.
        recorded = await self._record_changes(state.claimed, observed)
        result.events += recorded

    async def _record_changes(self, claimed: ClaimedAccount, observed: Sequence[Observed]) -> int:
        now = datetime.now(UTC)
        recorded = 0
        async with self.session_factory() as session, session.begin():
            known = await repository.load_states(session, claimed.workspace_id, claimed.account_id)
            for item in observed:
                for change in changes(known.get((item.entity_type, item.entity_id)), item):
                    await add_event(
                        session,
                        workspace_id=claimed.workspace_id,
                        entity_type=item.entity_type,
                        entity_id=item.entity_id,
                        type=change.type,
                        data=change.data,
                        message=change.message,
                        connection_id=claimed.connection_id,
                        ad_account_id=claimed.account_id,
                    )
                    SYNC_EVENTS.labels(change.type).inc()
                    recorded += 1
            await repository.upsert_states(
                session,
                [
                    {
                        "workspace_id": claimed.workspace_id,
                        "account_id": claimed.account_id,
                        "entity_type": item.entity_type,
                        "entity_id": item.entity_id,
                        "status": item.status,
                        "serving_statuses": item.serving_statuses,
                        "review_status": item.review_status,
                        "seen_at": now,
                    }
                    for item in observed
                ],
            )
        return recorded

    # ---- analytics ---------------------------------------------------------------------------

    async def _pull_analytics(
        self,
        access: AccountAccess,
        states: list[_AccountState],
        start: date,
        end: date,
        result: SyncRunResult,
        *,
        use_bounds: bool,
    ) -> None:
        accounts = [state.claimed.account_id for state in states]
        workspaces = {state.claimed.account_id: state.claimed.workspace_id for state in states}
        currencies = {state.claimed.account_id: state.claimed.currency for state in states}

        async def run_with_token(call: Any) -> Any:
            return await call_with_token(self.tokens, access, call)

        for level in LEVELS:
            bounds = (
                {state.claimed.account_id: state.entity_counts.get(level, 0) for state in states}
                if use_bounds
                else None
            )
            pulled_at = datetime.now(UTC)
            try:
                pulled = await self.puller.pull(
                    run_with_token,
                    level=level,
                    accounts=accounts,
                    start=start,
                    end=end,
                    metrics=CORE_METRICS,
                    rows_per_day=bounds,
                )
                async with self.session_factory() as session, session.begin():
                    stored = await store_pull(
                        session,
                        pulled.rows,
                        workspaces=workspaces,
                        currencies=currencies,
                        level=level,
                        start=start,
                        end=end,
                        extra_metrics=[],
                        api_version=self.settings.linkedin_ads_api_version,
                        pulled_at=pulled_at,
                    )
            except ServiceError as error:
                for state in states:
                    state.error = error
                return
            result.rows += stored
            result.analytics_calls += pulled.calls
            SYNC_ROWS.labels(level).inc(stored)
            ANALYTICS_CALLS.labels(level, "complete").inc(pulled.calls - pulled.truncated_calls)
            ANALYTICS_CALLS.labels(level, "truncated").inc(pulled.truncated_calls)

    # ---- status ------------------------------------------------------------------------------

    async def status(self, session: AsyncSession, workspace_id: str) -> SyncStatus:
        rows = await repository.sync_status_rows(session, workspace_id)
        now = datetime.now(UTC)
        items = [
            AccountSyncStatus(
                account_id=str(row.account_id),
                last_synced_at=row.last_synced_at,
                next_sync_at=row.next_sync_at,
                last_sync_error=row.last_sync_error,
                lag_seconds=(now - row.last_synced_at).total_seconds()
                if row.last_synced_at
                else None,
            )
            for row in rows
        ]
        lags = [item.lag_seconds for item in items if item.lag_seconds is not None]
        return SyncStatus(
            accounts=len(items),
            synced=sum(1 for row in rows if row.last_synced_at and not row.last_sync_error),
            failing=sum(1 for row in rows if row.last_sync_error),
            never_synced=sum(1 for row in rows if row.last_synced_at is None),
            max_lag_seconds=max(lags) if lags else None,
            interval_seconds=self.settings.linkedin_ads_sync_interval_seconds,
            window_days=self.settings.linkedin_ads_sync_window_days,
            items=items,
        )

    async def update_gauges(self) -> None:
        async with self.session_factory() as session:
            rows = await repository.sync_status_rows(session)
        now = datetime.now(UTC)
        synced = [row.last_synced_at for row in rows if row.last_synced_at is not None]
        SYNC_LAG.set(max(((now - moment).total_seconds() for moment in synced), default=0))
        SYNC_FAILING.set(sum(1 for row in rows if row.last_sync_error))
        SYNC_NEVER.set(sum(1 for row in rows if row.last_synced_at is None))
