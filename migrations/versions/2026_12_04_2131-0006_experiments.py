"""experiments, their variants, ads and variant status changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:31:42.781226
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("primary_metric", sa.String(length=32), nullable=False),
        sa.Column("creation_key", sa.String(length=255), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("campaign_created", sa.Boolean(), nullable=False),
        sa.Column("campaign_state", sa.String(length=16), nullable=False),
        sa.Column("winner_key", sa.String(length=32), nullable=True),
        sa.Column("last_error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint(
            "workspace_id", "creation_key", name=op.f("uq_experiments_workspace_id")
        ),
    )
    op.create_index(
        "ix_experiments_workspace_account",
        "experiments",
        ["workspace_id", "account_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "experiment_status_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.UUID(), nullable=False),
        sa.Column("variant_key", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            ondelete="CASCADE",
            name=op.f("fk_experiment_status_changes_experiment_id_experiments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_status_changes")),
    )
    op.create_index(
        "ix_experiment_status_changes_experiment",
        "experiment_status_changes",
        ["experiment_id", "changed_at"],
        unique=False,
    )
    op.create_table(
        "experiment_variants",
        sa.Column("experiment_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.Column("targeting", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ad_set_id", sa.Text(), nullable=True),
        sa.Column("ad_set_state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            ondelete="CASCADE",
            name=op.f("fk_experiment_variants_experiment_id_experiments"),
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name=op.f("pk_experiment_variants")),
    )
    op.create_table(
        "experiment_ads",
        sa.Column("experiment_id", sa.UUID(), nullable=False),
        sa.Column("variant_key", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ad_id", sa.Text(), nullable=True),
        sa.Column("ad_state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id", "variant_key"],
            ["experiment_variants.experiment_id", "experiment_variants.key"],
            ondelete="CASCADE",
            name=op.f("fk_experiment_ads_experiment_id_experiment_variants"),
        ),
        sa.PrimaryKeyConstraint(
            "experiment_id", "variant_key", "position", name=op.f("pk_experiment_ads")
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_ads")
    op.drop_table("experiment_variants")
    op.drop_index("ix_experiment_status_changes_experiment", table_name="experiment_status_changes")
    op.drop_table("experiment_status_changes")
    op.drop_index("ix_experiments_workspace_account", table_name="experiments")
    op.drop_table("experiments")
