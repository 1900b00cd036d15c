"""Feed floors: after restoring a backup, partners' next feed cursors pass every cursor the lost
period issued (`seinhuis hub after-restore`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:04:52.673739
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "hub_feed_floors",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )


def downgrade() -> None:
    op.drop_table("hub_feed_floors")
