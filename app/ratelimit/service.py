"""The quota read behind `GET /v1/ad-accounts/{account_id}/quota`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections import repository
from app.core.errors import NotFoundError
from app.ratelimit.limiter import RateLimiter
from app.ratelimit.schemas import QuotaOut, WindowUsageOut


async def account_quota(
    session: AsyncSession, limiter: RateLimiter, workspace_id: str, account_id: int
) -> QuotaOut:
    """Return the use of every window of an ad account of the caller's workspace."""
    account = await repository.get_ad_account(session, workspace_id, account_id)
    if account is None:
        raise NotFoundError(f"ad account {account_id} is not connected to this workspace")

    status = await limiter.quota(limiter.client_id, str(account_id))
    server_time = status.windows[0].server_time if status.windows else datetime.now(UTC)
    return QuotaOut(
        account_id=account_id,
        client_id=limiter.client_id,
        server_time=server_time,
        parked_until=status.parked_until,
        parked_reason=status.parked_reason,
        windows=[
            WindowUsageOut(
                name=window.name,
                limit=window.limit,
                used=window.used,
                remaining=window.remaining,
                window_seconds=window.window_seconds,
                retry_after_seconds=window.retry_after_seconds,
                resets_in_seconds=window.resets_in_seconds,
            )
            for window in status.windows
        ],
    )
