"""Routes for experiments: variants as ad sets under one campaign, toggled by the runner."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.campaigns.router import READ_ERRORS, WRITE_ERRORS
from app.core.auth import WorkspaceDep
from app.core.database import SessionDep
from app.core.errors import (
    ApiVersionError,
    AuthenticationError,
    ConflictError,
    IdempotencyMismatchError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ReconnectRequiredError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
    error_responses,
)
from app.core.idempotency_header import idempotency_key, stored_response
from app.core.schemas import AccountId
from app.experiments.schemas import (
    ConcludeRequest,
    ExperimentCreate,
    ExperimentOut,
    ExperimentResults,
    RotateRequest,
    VariantSelection,
)
from app.experiments.service import ExperimentService, ExperimentStateError

router = APIRouter(prefix="/v1/ad-accounts/{account_id}/experiments", tags=["experiments"])

KeyDep = Annotated[str, Depends(idempotency_key)]
CONTROL_ERRORS = error_responses(
    AuthenticationError,
    NotFoundError,
    InvalidInputError,
    UpstreamRejectedError,
    IdempotencyMismatchError,
    ConflictError,
    ExperimentStateError,
    ReconnectRequiredError,
    QuotaExceededError,
    UpstreamUnavailableError,
    ApiVersionError,
)


def service(request: Request) -> ExperimentService:
    return request.app.state.experiments  # type: ignore[no-any-return]


@router.get("", response_model=list[ExperimentOut], responses=READ_ERRORS)
async def list_experiments(
    account_id: AccountId, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> list[ExperimentOut]:
    """List the ad account's experiments, newest first."""
    return await service(request).list(session, workspace, account_id)


@router.get("/{experiment_id}", response_model=ExperimentOut, responses=READ_ERRORS)
async def get_experiment(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> ExperimentOut:
    """Show an experiment with each variant's ad set, ads and creation state."""
    return await service(request).get(session, workspace, account_id, experiment_id)


@router.post("", status_code=201, response_model=ExperimentOut, responses=WRITE_ERRORS)
async def create_experiment(
    account_id: AccountId,
    body: ExperimentCreate,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Create the campaign (when new), one ad set per variant and their ads.

    The control ships ACTIVE and the treatments PAUSED. A create that fails part way keeps
    what exists; repeat it with the same `Idempotency-Key` to finish it.
    """
    stored = await service(request).create(session, workspace, account_id, body, key)
    return stored_response(stored)


@router.post("/{experiment_id}/activate", response_model=ExperimentOut, responses=CONTROL_ERRORS)
async def activate_experiment(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
    body: VariantSelection | None = None,
) -> JSONResponse:
    """Set the given variants (every variant by default) ACTIVE."""
    stored = await service(request).activate(
        session, workspace, account_id, experiment_id, body or VariantSelection(), key
    )
    return stored_response(stored)


@router.post("/{experiment_id}/pause", response_model=ExperimentOut, responses=CONTROL_ERRORS)
async def pause_experiment(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
    body: VariantSelection | None = None,
) -> JSONResponse:
    """Set the given variants (every variant by default) PAUSED."""
    stored = await service(request).pause(
        session, workspace, account_id, experiment_id, body or VariantSelection(), key
    )
    return stored_response(stored)


@router.post("/{experiment_id}/rotate", response_model=ExperimentOut, responses=CONTROL_ERRORS)
async def rotate_experiment(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    body: RotateRequest,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Make one variant the only ACTIVE one; the others are paused first."""
    stored = await service(request).rotate(session, workspace, account_id, experiment_id, body, key)
    return stored_response(stored)


@router.post("/{experiment_id}/conclude", response_model=ExperimentOut, responses=CONTROL_ERRORS)
async def conclude_experiment(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    body: ConcludeRequest,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    key: KeyDep,
) -> JSONResponse:
    """Keep the winner ACTIVE and pause or archive the other variants; closes the experiment."""
    stored = await service(request).conclude(
        session, workspace, account_id, experiment_id, body, key
    )
    return stored_response(stored)


@router.get("/{experiment_id}/results", response_model=ExperimentResults, responses=READ_ERRORS)
async def get_results(
    account_id: AccountId,
    experiment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
) -> ExperimentResults:
    """Report each variant's metrics over its active days and compare it with the control."""
    return await service(request).results(session, workspace, account_id, experiment_id)
