"""Experiments: create the variants' entities, toggle their ad sets, and read the results.

A create that fails part way keeps its record (`app.experiments.creation`), and a retry with
the same `Idempotency-Key` resumes it. The runner controls commit after each ad set they change,
for the same reason: a retry with the same key skips what is done.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ad_sets.schemas import SettableStatus as AdSetStatus
from app.analytics import repository as analytics
from app.connections import repository as connections
from app.core.errors import FieldError, InvalidInputError, NotFoundError, ServiceError
from app.core.settings import Settings
from app.events.repository import add_event
from app.experiments import repository
from app.experiments import results as readout
from app.experiments.creation import ENTITY_TYPE, ExperimentBuilder
from app.experiments.models import Experiment, ExperimentAd, ExperimentVariant
from app.experiments.schemas import (
    ConcludeRequest,
    ExperimentAdOut,
    ExperimentCreate,
    ExperimentOut,
    ExperimentResults,
    ExperimentVariantOut,
    RotateRequest,
    VariantSelection,
)
from app.experiments.upstream import Upstream
from app.idempotency.service import IdempotencyStore, StoredResponse
from app.linkedin.payloads import CAMPAIGN_URN, is_dry_run_id

logger = logging.getLogger(__name__)


# How long one control call may hold an experiment before another may take it over.
CONTROL_LEASE_SECONDS = 120


class ExperimentStateError(ServiceError):
    """The experiment's state does not allow the request; `reason` names the state."""

    status_code = 409
    code = "experiment_state_conflict"


class ControlInProgressError(ExperimentStateError):
    """Another control call has the experiment's lease, so retrying the same request can succeed."""

    retryable = True


class ExperimentService:
    def __init__(
        self, *, settings: Settings, upstream: Upstream, idempotency: IdempotencyStore
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.idempotency = idempotency
        self.builder = ExperimentBuilder(settings=settings, upstream=upstream)

    @property
    def live(self) -> bool:
        return self.settings.linkedin_ads_live_mode

    async def _check_account(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        operation: str | None = None,
    ) -> None:
        if await connections.get_ad_account(session, workspace_id, account_id) is None:
            raise NotFoundError(
                f"ad account {account_id} not found in this workspace", operation=operation
            )

    # ---- reads ---------------------------------------------------------------------------------

    async def list(
        self, session: AsyncSession, workspace_id: str, account_id: int
    ) -> list[ExperimentOut]:
        await self._check_account(session, workspace_id, account_id)
        experiments = await repository.list_for_account(session, workspace_id, account_id)
        return await dtos_of(session, experiments)

    async def get(
        self, session: AsyncSession, workspace_id: str, account_id: int, experiment_id: uuid.UUID
    ) -> ExperimentOut:
        experiment = await self._load(session, workspace_id, account_id, experiment_id)
        dtos = await dtos_of(session, [experiment])
        return dtos[0]

    async def _load(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        operation: str | None = None,
    ) -> Experiment:
        experiment = await repository.get(session, workspace_id, account_id, experiment_id)
        if experiment is None:
            raise NotFoundError(
                f"experiment {experiment_id} not found in ad account {account_id}",
                operation=operation,
            )
        return experiment

    # ---- create --------------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: ExperimentCreate,
        idempotency_key: str,
    ) -> StoredResponse:
        operation = "create_experiment"
        self.builder.check_limits(dto, operation)

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            await self._check_account(session, workspace_id, account_id, operation)
            experiment = await repository.find_by_creation_key(
                session, workspace_id, idempotency_key
            )
            if experiment is None:
                await self.builder.check_parent(session, workspace_id, account_id, dto, operation)
                experiment = await self.builder.record(
                    session, workspace_id, account_id, dto, idempotency_key
                )
            elif experiment.account_id != account_id:
                raise InvalidInputError(
                    "this Idempotency-Key created an experiment in ad "
                    f"account {experiment.account_id}; use a new key",
                    operation=operation,
                )
            experiment_id = experiment.id
            try:
                await self.builder.build(session, workspace_id, account_id, experiment, dto)
            except ServiceError as error:
                # The store rolls back what is not committed; the failure stays on the record.
                await session.rollback()
                await repository.update_experiment(
                    session, experiment_id, status="failed", last_error=error.to_json()
                )
                await session.commit()
                logger.warning(
                    "experiment.create_failed",
                    extra={
                        "experiment_id": str(experiment_id),
                        "error": error.message,
                        "ad_account_id": account_id,
                    },
                )
                raise
            logger.info(
                "experiment.created",
                extra={
                    "experiment_id": str(experiment_id),
                    "ad_account_id": account_id,
                    "resumed": resumed,
                },
            )
            created = await self.get(session, workspace_id, account_id, experiment_id)
            return 201, created.model_dump(mode="json", by_alias=True)

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=str(account_id),
            body=dto.model_dump(mode="json", exclude_unset=True),
            write=write,
        )

    # ---- runner controls -----------------------------------------------------------------------

    async def activate(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        body: VariantSelection,
        idempotency_key: str,
    ) -> StoredResponse:
        """Set the chosen variants (all by default) ACTIVE; the others keep their status."""
        return await self._set_selected(
            session,
            workspace_id,
            account_id,
            experiment_id,
            body,
            idempotency_key,
            AdSetStatus.ACTIVE,
            "activate_experiment",
        )

    async def pause(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        body: VariantSelection,
        idempotency_key: str,
    ) -> StoredResponse:
        """Set the chosen variants (all by default) PAUSED."""
        return await self._set_selected(
            session,
            workspace_id,
            account_id,
            experiment_id,
            body,
            idempotency_key,
            AdSetStatus.PAUSED,
            "pause_experiment",
        )

    async def _set_selected(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        body: VariantSelection,
        idempotency_key: str,
        status: AdSetStatus,
        operation: str,
    ) -> StoredResponse:
        def plan(variants: Sequence[ExperimentVariant]) -> dict[str, AdSetStatus]:
            chosen = _check_keys(body.variants or [v.key for v in variants], variants, operation)
            return {key: status for key in chosen}

        return await self._control(
            session,
            workspace_id,
            account_id,
            experiment_id,
            idempotency_key,
            operation,
            body,
            plan,
        )

    async def rotate(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        body: RotateRequest,
        idempotency_key: str,
    ) -> StoredResponse:
        """Make one variant the only ACTIVE one: the others are paused first."""

        def plan(variants: Sequence[ExperimentVariant]) -> dict[str, AdSetStatus]:
            _check_keys([body.variant], variants, "rotate_experiment", field="variant")
            return {
                v.key: AdSetStatus.ACTIVE if v.key == body.variant else AdSetStatus.PAUSED
                for v in variants
            }

        return await self._control(
            session,
            workspace_id,
            account_id,
            experiment_id,
            idempotency_key,
            "rotate_experiment",
            body,
            plan,
        )

    async def conclude(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        body: ConcludeRequest,
        idempotency_key: str,
    ) -> StoredResponse:
        """Keep the winner ACTIVE, pause or archive the rest, and close the experiment."""
        operation = "conclude_experiment"
        chosen: dict[str, str] = {}

        async def prepare(experiment: Experiment) -> None:
            # A conclusion resumed after a failure keeps the winner its first attempt chose,
            # even if the results have changed since.
            winner = body.winner or experiment.winner_key
            if winner is None:
                results = await self.results(session, workspace_id, account_id, experiment_id)
                if results.winner is None:
                    raise ExperimentStateError(
                        f"the results call no winner yet ({results.decision}); name the winner, "
                        "or wait for more data and conclude with a new Idempotency-Key",
                        operation=operation,
                        reason="no_winner",
                    )
                winner = results.winner
            variants = (await repository.variants_of(session, [experiment_id]))[experiment_id]
            _check_keys([winner], variants, operation, field="winner")
            chosen["winner"] = winner
            await repository.update_experiment(session, experiment_id, winner_key=winner)
            await session.commit()

        def plan(variants: Sequence[ExperimentVariant]) -> dict[str, AdSetStatus]:
            winner = chosen["winner"]
            others = AdSetStatus(body.others)
            return {v.key: AdSetStatus.ACTIVE if v.key == winner else others for v in variants}

        return await self._control(
            session,
            workspace_id,
            account_id,
            experiment_id,
            idempotency_key,
            operation,
            body,
            plan,
            prepare=prepare,
            concludes=chosen,
        )

    async def _control(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        idempotency_key: str,
        operation: str,
        body: Any,
        plan: Callable[[Sequence[ExperimentVariant]], dict[str, AdSetStatus]],
        prepare: Callable[[Experiment], Awaitable[None]] | None = None,
        concludes: dict[str, str] | None = None,
    ) -> StoredResponse:
        """Apply a status plan to the variants' ad sets, committing after each change.

        Pauses and archives go first, so a rotation never has two variants serving at once.
        Every planned status is sent, even one this service already recorded, because the
        ad set may have been changed in LinkedIn since; only real changes become events.
        Controls of one experiment are serialised by a lease on its row: a call that finds
        another one running gets 409 `control_in_progress` and retries.
        """
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]

        async def write(resumed: bool) -> tuple[int, dict[str, Any]]:
            await self._check_account(session, workspace_id, account_id, operation)
            await self._load(session, workspace_id, account_id, experiment_id, operation)
            leased = await repository.take_control_lease(
                session, experiment_id, digest, datetime.now(UTC), CONTROL_LEASE_SECONDS
            )
            if not leased:
                raise ControlInProgressError(
                    f"another control call on experiment {experiment_id} is in progress; "
                    "retry when it has finished",
                    operation=operation,
                    reason="control_in_progress",
                    retry_after_seconds=2.0,
                )
            await session.commit()
            try:
                return await apply(
                    await self._load(session, workspace_id, account_id, experiment_id, operation)
                )
            finally:
                await repository.release_control_lease(session, experiment_id, digest)
                await session.commit()

        async def apply(experiment: Experiment) -> tuple[int, dict[str, Any]]:
            if experiment.status in ("creating", "failed"):
                raise ExperimentStateError(
                    f"experiment {experiment_id} is not fully created ({experiment.status}); "
                    "retry its create with the same Idempotency-Key first",
                    operation=operation,
                    reason="creation_incomplete",
                )
            if experiment.status == "concluded":
                raise ExperimentStateError(
                    f"experiment {experiment_id} is concluded; its variants are no longer "
                    "toggled by experiment controls",
                    operation=operation,
                    reason="concluded",
                )
            if prepare is not None:
                await prepare(experiment)
            variants = (await repository.variants_of(session, [experiment_id]))[experiment_id]
            targets = plan(variants)
            order = sorted(variants, key=lambda v: targets.get(v.key) == AdSetStatus.ACTIVE)
            for variant in order:
                target = targets.get(variant.key)
                if target is None:
                    continue
                assert variant.ad_set_id is not None
                await self.upstream.set_ad_set_status(
                    session,
                    workspace_id,
                    account_id,
                    variant.ad_set_id,
                    target,
                    f"experiment:{experiment_id}:{digest}:{variant.key}:{target.value}",
                )
                if variant.status != target.value:
                    await self._record_change(
                        session,
                        workspace_id,
                        account_id,
                        experiment_id,
                        variant,
                        target.value,
                        operation,
                    )
                await session.commit()
            if concludes is not None:
                await repository.update_experiment(
                    session,
                    experiment_id,
                    status="concluded",
                    winner_key=concludes["winner"],
                    concluded_at=datetime.now(UTC),
                )
                await add_event(
                    session,
                    workspace_id=workspace_id,
                    entity_type=ENTITY_TYPE,
                    entity_id=str(experiment_id),
                    type="experiment_concluded",
                    data={"winner": concludes["winner"]},
                    message=f"experiment concluded; winner {concludes['winner']}",
                    ad_account_id=account_id,
                )
            else:
                await repository.update_experiment(session, experiment_id)
            updated = await self.get(session, workspace_id, account_id, experiment_id)
            return 200, updated.model_dump(mode="json", by_alias=True)

        return await self.idempotency.run(
            session,
            workspace_id=workspace_id,
            key=idempotency_key,
            operation=operation,
            target=f"{account_id}/{experiment_id}",
            body=body.model_dump(mode="json", exclude_unset=True),
            write=write,
        )

    async def _record_change(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment_id: uuid.UUID,
        variant: ExperimentVariant,
        status: str,
        operation: str,
    ) -> None:
        previous = variant.status
        await repository.update_variant(session, experiment_id, variant.key, status=status)
        await repository.add_status_change(
            session, experiment_id, variant.key, status, datetime.now(UTC)
        )
        await add_event(
            session,
            workspace_id=workspace_id,
            entity_type=ENTITY_TYPE,
            entity_id=str(experiment_id),
            type="variant_status_changed",
            data={
                "variant": variant.key,
                "ad_set_id": variant.ad_set_id,
                "from": previous,
                "to": status,
                "operation": operation,
            },
            message=f"variant {variant.key} changed from {previous} to {status}",
            ad_account_id=account_id,
        )
        logger.info(
            "experiment.variant_status_changed",
            extra={
                "experiment_id": str(experiment_id),
                "variant": variant.key,
                "from": previous,
                "to": status,
            },
        )

    # ---- results -------------------------------------------------------------------------------

    async def results(
        self, session: AsyncSession, workspace_id: str, account_id: int, experiment_id: uuid.UUID
    ) -> ExperimentResults:
        """Compute per-variant metrics and comparisons from stored ad set analytics.

        Stored analytics older than the analytics service's freshness limit are pulled again
        first, unless every variant is a dry-run ad set (LinkedIn has no data for those).
        """
        experiment = await self._load(session, workspace_id, account_id, experiment_id)
        variants = (await repository.variants_of(session, [experiment_id]))[experiment_id]
        history = await repository.status_history(session, experiment_id)
        until = min(experiment.concluded_at or datetime.now(UTC), datetime.now(UTC))
        days = {
            variant.key: readout.active_days(
                [
                    (change.changed_at, change.status)
                    for change in history
                    if change.variant_key == variant.key
                ],
                until,
            )
            for variant in variants
        }
        every_day = set().union(*days.values()) if days else set()
        start: date | None = min(every_day) if every_day else None
        end: date | None = max(every_day) if every_day else None

        pulled_at = None
        rows: dict[str, list[readout.DailyRow]] = {variant.key: [] for variant in variants}
        real = [v for v in variants if v.ad_set_id and not is_dry_run_id(v.ad_set_id)]
        if start is not None and end is not None:
            if real:
                pulled_at = await self.upstream.refresh_ad_set_analytics(
                    session, workspace_id, account_id, start, end
                )
            by_urn = {CAMPAIGN_URN.format(v.ad_set_id): v.key for v in variants if v.ad_set_id}
            for stored in await analytics.read_daily(
                session, workspace_id, account_id, "ad_set", start, end
            ):
                key = by_urn.get(stored.entity_urn)
                if key is not None:
                    rows[key].append(
                        readout.DailyRow(
                            stored.day,
                            stored.impressions,
                            stored.clicks,
                            stored.conversions,
                            stored.spend_usd,
                        )
                    )

        sample = readout.SampleRule(
            self.settings.linkedin_ads_experiment_min_impressions,
            self.settings.linkedin_ads_experiment_min_clicks,
        )
        confidence = self.settings.linkedin_ads_experiment_confidence
        control = next((v for v in variants if v.is_control), None)
        treatments = [v for v in variants if not v.is_control]
        alpha = (1 - confidence) / max(1, len(treatments))
        variant_results = [
            readout.variant_result(
                key=v.key,
                name=v.name,
                control=v.is_control,
                status=v.status,
                days=days[v.key],
                totals=readout.totals_on(rows[v.key], days[v.key]),
                sample=sample,
            )
            for v in variants
        ]
        comparisons = []
        if control is not None:
            comparisons = [
                readout.compare(
                    control_key=control.key,
                    control_rows=rows[control.key],
                    control_days=days[control.key],
                    key=v.key,
                    rows=rows[v.key],
                    days=days[v.key],
                    sample=sample,
                    confidence=1 - alpha,
                    alpha=alpha,
                )
                for v in treatments
            ]
        decision, winner = readout.decide(
            comparisons, control.key if control else "", experiment.primary_metric
        )
        return ExperimentResults(
            experiment_id=experiment_id,
            status=experiment.status,
            start=start,
            end=end,
            decision=decision,
            winner=winner,
            method=readout.method(
                confidence=confidence,
                comparisons=len(treatments),
                primary_metric=experiment.primary_metric,
                sample=sample,
            ),
            variants=variant_results,
            comparisons=comparisons,
            analytics_pulled_at=pulled_at,
        )


# ---- helpers ---------------------------------------------------------------------------------


def _check_keys(
    keys: Sequence[str],
    variants: Sequence[ExperimentVariant],
    operation: str,
    field: str = "variants",
) -> list[str]:
    known = {variant.key for variant in variants}
    unknown = [key for key in keys if key not in known]
    if unknown:
        message = (
            f"unknown variant {', '.join(unknown)}; this experiment has {', '.join(sorted(known))}"
        )
        raise InvalidInputError(
            message,
            operation=operation,
            fields=[FieldError(field, message)],
            reason="unknown_variant",
        )
    return list(dict.fromkeys(keys))


async def dtos_of(session: AsyncSession, experiments: Sequence[Experiment]) -> list[ExperimentOut]:
    ids = [experiment.id for experiment in experiments]
    variants = await repository.variants_of(session, ids)
    ads = await repository.ads_of(session, ids)
    return [to_dto(experiment, variants[experiment.id], ads) for experiment in experiments]


def to_dto(
    experiment: Experiment,
    variants: Sequence[ExperimentVariant],
    ads: dict[tuple[uuid.UUID, str], list[ExperimentAd]],
) -> ExperimentOut:
    return ExperimentOut(
        id=experiment.id,
        ad_account_id=str(experiment.account_id),
        name=experiment.name,
        status=experiment.status,
        primary_metric=experiment.primary_metric,
        campaign_id=experiment.campaign_id,
        campaign_created=experiment.campaign_created,
        campaign_state=experiment.campaign_state,
        winner=experiment.winner_key,
        dry_run=experiment.dry_run,
        last_error=experiment.last_error,
        created_at=experiment.created_at,
        updated_at=experiment.updated_at,
        concluded_at=experiment.concluded_at,
        variants=[
            ExperimentVariantOut(
                key=variant.key,
                name=variant.name,
                control=variant.is_control,
                status=variant.status,
                ad_set_id=variant.ad_set_id,
                state=variant.ad_set_state,
                targeting=variant.targeting,
                ads=[
                    ExperimentAdOut(
                        position=ad.position, ad_id=ad.ad_id, state=ad.ad_state, content=ad.content
                    )
                    for ad in ads.get((experiment.id, variant.key), [])
                ],
            )
            for variant in variants
        ],
    )
