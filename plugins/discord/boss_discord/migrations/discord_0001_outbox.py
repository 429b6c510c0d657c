"""Create the transactional outbox (``boss_outbox``) that task events are staged in.

Revision ID: discord_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from boss.database import UtcDateTime

revision = "discord_0001"
down_revision = None
branch_labels = ("discord",)
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """The table ``boss.outbox`` describes, with its claim index."""
    op.create_table(
        "boss_outbox",
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("claimed_until", UtcDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_boss_outbox"),
    )
    op.create_index("ix_boss_outbox_topic_id", "boss_outbox", ["topic", "id"])


def downgrade() -> None:
    """Drop the outbox (events still in it are lost: drain first)."""
    op.drop_index("ix_boss_outbox_topic_id", table_name="boss_outbox")
    op.drop_table("boss_outbox")
