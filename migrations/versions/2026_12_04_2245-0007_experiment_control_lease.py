"""experiment control lease

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("experiments", sa.Column("control_key", sa.String(length=64), nullable=True))
    op.add_column(
        "experiments", sa.Column("control_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("experiments", "control_until")
    op.drop_column("experiments", "control_key")
