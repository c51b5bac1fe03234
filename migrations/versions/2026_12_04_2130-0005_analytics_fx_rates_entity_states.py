"""analytics, analytics pulls, fx rates and entity states

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NOTE: analytics_daily is a plain table. Partition it by month on `day` once it grows;
    # its primary key already contains `day`, as a partitioned table's key must.
    op.create_table(
        "analytics_daily",
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("entity_urn", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("spend_local", sa.Numeric(), nullable=False),
        sa.Column("spend_usd", sa.Numeric(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("usd_method", sa.String(length=20), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("api_version", sa.String(length=8), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "account_id",
            "level",
            "entity_urn",
            "day",
            name=op.f("pk_analytics_daily"),
        ),
    )
    op.create_index(
        "ix_analytics_daily_account_level_day",
        "analytics_daily",
        ["workspace_id", "account_id", "level", "day"],
        unique=False,
    )
    op.create_table(
        "analytics_pulls",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=False),
        sa.Column("extra_metrics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_pulls")),
    )
    op.create_index(
        "ix_analytics_pulls_account_level",
        "analytics_pulls",
        ["workspace_id", "account_id", "level", "pulled_at"],
        unique=False,
    )
    op.create_table(
        "fx_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("usd_per_unit", sa.Numeric(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("currency", "day", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "entity_states",
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("serving_statuses", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("review_status", sa.String(length=32), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "account_id", "entity_type", "entity_id", name=op.f("pk_entity_states")
        ),
    )


def downgrade() -> None:
    op.drop_table("entity_states")
    op.drop_table("fx_rates")
    op.drop_index("ix_analytics_pulls_account_level", table_name="analytics_pulls")
    op.drop_table("analytics_pulls")
    op.drop_index("ix_analytics_daily_account_level_day", table_name="analytics_daily")
    op.drop_table("analytics_daily")
