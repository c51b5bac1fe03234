"""Creating an experiment's entities step by step, so that a failed create can be resumed.

Each step (the campaign, then per variant its ad set and ads) is marked `sending` and committed
before its request goes out, and marked `created` with the new id and committed after. A retry
skips `created` steps. A `sending` step's outcome was never recorded, so in live mode the retry
first looks for the entity in LinkedIn. The owning service's own idempotency record usually
resolves such a step too, but that service deletes the record after a failure it classed as
retryable and not sent.
Every create goes through the owning service with a key derived from the experiment id, so the
dry-run ids are stable and a step that finished inside the owning service is replayed.

NOTE: this module commits the request's session after every step, like `IdempotencyStore`,
because the step records must outlive a failure of the request that made them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.ad_sets.schemas import AdSetCreate, CreateStatus
from app.ad_sets.schemas import SettableStatus as AdSetStatus
from app.ads.schemas import AdCreate
from app.ads.schemas import CreateStatus as AdStatus
from app.campaigns.schemas import CampaignCreate
from app.campaigns.schemas import CreateStatus as CampaignStatus
from app.core.errors import FieldError, InvalidInputError
from app.core.settings import Settings
from app.events.repository import add_event
from app.experiments import repository
from app.experiments.models import Experiment, ExperimentAd, ExperimentVariant
from app.experiments.schemas import ExperimentCreate, VariantCreate
from app.experiments.upstream import Upstream
from app.linkedin.payloads import id_from_urn, is_dry_run_id

# How far back an entity found after an unknown outcome may have been made.
UNKNOWN_OUTCOME_WINDOW = timedelta(minutes=15)
# LinkedIn allows at most 2,000 campaigns in a campaign group other than the account's default.
MAX_AD_SETS_PER_CAMPAIGN = 2000

PENDING, SENDING, CREATED = "pending", "sending", "created"
ENTITY_TYPE = "experiment"


class ExperimentBuilder:
    """The create steps of an experiment, run by `ExperimentService.create`."""

    def __init__(self, *, settings: Settings, upstream: Upstream) -> None:
        self.settings = settings
        self.upstream = upstream

    @property
    def live(self) -> bool:
        return self.settings.linkedin_ads_live_mode

    def check_limits(self, dto: ExperimentCreate, operation: str) -> None:
        max_variants = self.settings.linkedin_ads_experiment_max_variants
        if len(dto.variants) > max_variants:
            message = f"an experiment has at most {max_variants} variants, got {len(dto.variants)}"
            raise InvalidInputError(
                message, operation=operation, fields=[FieldError("variants", message)]
            )
        ads_limit = self.settings.linkedin_ads_max_active_ads_per_ad_set
        for index, variant in enumerate(dto.variants):
            if len(variant.ads) > ads_limit:
                message = (
                    f"variant {variant.key} has {len(variant.ads)} ads; LinkedIn serves at "
                    f"most {ads_limit} active ads per ad set"
                )
                raise InvalidInputError(
                    message,
                    operation=operation,
                    fields=[FieldError(f"variants.{index}.ads", message)],
                )

    async def check_parent(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: ExperimentCreate,
        operation: str,
    ) -> None:
        """Check that an existing parent campaign exists and has room for every variant."""
        if dto.campaign_id is None:
            return
        campaign_id = campaign_id_of(dto.campaign_id)
        await self.upstream.check_campaign(session, workspace_id, account_id, campaign_id)
        if is_dry_run_id(campaign_id):
            return
        existing = await self.upstream.count_ad_sets(session, workspace_id, account_id, campaign_id)
        if existing + len(dto.variants) > MAX_AD_SETS_PER_CAMPAIGN:
            message = (
                f"campaign {campaign_id} has {existing} ad sets; {len(dto.variants)} more "
                f"would pass LinkedIn's limit of {MAX_AD_SETS_PER_CAMPAIGN}"
            )
            raise InvalidInputError(
                message, operation=operation, fields=[FieldError("campaign_id", message)]
            )

    async def record(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        dto: ExperimentCreate,
        idempotency_key: str,
    ) -> Experiment:
        """Store the experiment with every step pending and commit it before any upstream call."""
        experiment = Experiment(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            account_id=account_id,
            name=dto.name,
            status="creating",
            primary_metric=dto.primary_metric.value,
            creation_key=idempotency_key,
            dry_run=not self.live,
            campaign_id=campaign_id_of(dto.campaign_id) if dto.campaign_id else None,
            campaign_created=dto.campaign is not None,
            campaign_state=PENDING if dto.campaign is not None else CREATED,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        control = dto.control_key
        variants = [
            ExperimentVariant(
                experiment_id=experiment.id,
                key=variant.key,
                position=position,
                name=ad_set_name(dto.name, variant),
                is_control=variant.key == control,
                targeting=variant.targeting.model_dump(mode="json"),
                ad_set_state=PENDING,
            )
            for position, variant in enumerate(dto.variants)
        ]
        ads = [
            ExperimentAd(
                experiment_id=experiment.id,
                variant_key=variant.key,
                position=position,
                content=ad.model_dump(mode="json", by_alias=True, exclude_none=True),
                ad_state=PENDING,
            )
            for variant in dto.variants
            for position, ad in enumerate(variant.ads)
        ]
        await repository.add_experiment(session, experiment, variants, ads)
        await session.commit()
        return experiment

    async def build(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        experiment: Experiment,
        dto: ExperimentCreate,
    ) -> None:
        """Create the entities the record lists as missing, committing after each one."""
        experiment_id = experiment.id
        prefix = f"experiment:{experiment_id}"
        since = experiment.created_at - UNKNOWN_OUTCOME_WINDOW
        campaign_id = experiment.campaign_id
        if experiment.campaign_state != CREATED:
            assert dto.campaign is not None
            campaign_dto = campaign_for(dto.campaign)
            found = None
            if experiment.campaign_state == SENDING and self.live:
                found = await self.upstream.find_campaign(
                    session, workspace_id, account_id, campaign_dto.name, since
                )
            if found is None:
                await repository.update_experiment(session, experiment_id, campaign_state=SENDING)
                await session.commit()
                body = await self.upstream.create_campaign(
                    session, workspace_id, account_id, campaign_dto, f"{prefix}:campaign"
                )
                found = str(body["id"])
            campaign_id = found
            await repository.update_experiment(
                session, experiment_id, campaign_id=campaign_id, campaign_state=CREATED
            )
            await session.commit()
        assert campaign_id is not None

        rows = (await repository.variants_of(session, [experiment_id]))[experiment_id]
        ads = await repository.ads_of(session, [experiment_id])
        specs = {variant.key: variant for variant in dto.variants}
        ad_set_ids: dict[str, str] = {}
        for row in rows:
            ad_set_id = await self._ensure_ad_set(
                session,
                workspace_id,
                account_id,
                row,
                specs[row.key],
                dto,
                campaign_id,
                prefix,
                since,
            )
            for ad_row in ads.get((experiment_id, row.key), []):
                await self._ensure_ad(
                    session,
                    workspace_id,
                    account_id,
                    ad_row,
                    specs[row.key],
                    ad_set_id,
                    ads[(experiment_id, row.key)],
                    prefix,
                    since,
                )

            ad_set_ids[row.key] = ad_set_id

        for row in rows:
            if row.is_control:
                await self.upstream.set_ad_set_status(
                    session,
                    workspace_id,
                    account_id,
                    ad_set_ids[row.key],
                    AdSetStatus.ACTIVE,
                    f"{prefix}:variant:{row.key}:activate",
                )
        now = datetime.now(UTC)
        statuses = {}
        for row in rows:
            status = CreateStatus.ACTIVE if row.is_control else CreateStatus.PAUSED
            statuses[row.key] = status.value
            await repository.update_variant(session, experiment_id, row.key, status=status.value)
            await repository.add_status_change(session, experiment_id, row.key, status.value, now)
        await repository.update_experiment(
            session, experiment_id, status="running", last_error=None
        )
        await add_event(
            session,
            workspace_id=workspace_id,
            entity_type=ENTITY_TYPE,
            entity_id=str(experiment_id),
            type="experiment_created",
            data={"campaign_id": campaign_id, "variants": statuses},
            message=f"experiment {experiment.name!r} created",
            ad_account_id=account_id,
        )

    async def _ensure_ad_set(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        row: ExperimentVariant,
        spec: VariantCreate,
        dto: ExperimentCreate,
        campaign_id: str,
        prefix: str,
        since: datetime,
    ) -> str:
        if row.ad_set_state == CREATED and row.ad_set_id is not None:
            return row.ad_set_id
        found = None
        if row.ad_set_state == SENDING and self.live:
            found = await self.upstream.find_ad_set(
                session, workspace_id, account_id, campaign_id, row.name, since
            )
        if found is None:
            await repository.update_variant(
                session, row.experiment_id, row.key, ad_set_state=SENDING
            )
            await session.commit()
            # Every variant starts PAUSED; the control is activated once everything exists, so
            # a create that fails part way leaves nothing serving.
            ad_set = AdSetCreate(
                **dto.ad_set.model_dump(exclude_unset=True),
                campaign_id=campaign_id,
                name=row.name,
                targeting=spec.targeting,
                status=CreateStatus.PAUSED,
            )
            body = await self.upstream.create_ad_set(
                session, workspace_id, account_id, ad_set, f"{prefix}:variant:{row.key}:ad_set"
            )
            found = str(body["id"])
        await repository.update_variant(
            session, row.experiment_id, row.key, ad_set_id=found, ad_set_state=CREATED
        )
        await session.commit()
        return found

    async def _ensure_ad(
        self,
        session: AsyncSession,
        workspace_id: str,
        account_id: int,
        row: ExperimentAd,
        spec: VariantCreate,
        ad_set_id: str,
        siblings: Sequence[ExperimentAd],
        prefix: str,
        since: datetime,
    ) -> None:
        if row.ad_state == CREATED:
            return
        ad_spec = spec.ads[row.position]
        found = None
        if row.ad_state == SENDING and self.live:
            known = [sibling.ad_id for sibling in siblings if sibling.ad_id is not None]
            found = await self.upstream.find_ad(
                session,
                workspace_id,
                account_id,
                ad_set_id,
                known,
                ad_spec.content.reference,
                since,
            )
        if found is None:
            await repository.update_ad(
                session, row.experiment_id, row.variant_key, row.position, ad_state=SENDING
            )
            await session.commit()
            ad = AdCreate(
                ad_set_id=ad_set_id,
                name=ad_spec.name,
                status=AdStatus.ACTIVE,
                content=ad_spec.content,
            )
            body = await self.upstream.create_ad(
                session,
                workspace_id,
                account_id,
                ad,
                f"{prefix}:variant:{row.variant_key}:ad:{row.position}",
            )
            found = str(body["id"])
        row.ad_id = found
        await repository.update_ad(
            session, row.experiment_id, row.variant_key, row.position, ad_id=found, ad_state=CREATED
        )
        await session.commit()


def campaign_id_of(value: str) -> str:
    return id_from_urn(value) if value.startswith("urn:") else value


def ad_set_name(experiment_name: str, variant: VariantCreate) -> str:
    return variant.name or f"{experiment_name} [{variant.key}]"


def campaign_for(dto: CampaignCreate) -> CampaignCreate:
    """Return the new parent campaign, ACTIVE unless the request set a status."""
    if "status" in dto.model_fields_set:
        return dto
    return dto.model_copy(update={"status": CampaignStatus.ACTIVE})
