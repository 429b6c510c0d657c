"""Create the tasks and tasks_audit tables.

Revision ID: tasks_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from boss.database import UtcDateTime

revision = "tasks_0001"
down_revision = None
branch_labels = ("tasks",)
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create both tables with their indexes and constraints."""
    op.create_table(
        "tasks",
        sa.Column("number", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False, server_default="medium"),
        sa.Column("deadline", UtcDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name="ck_tasks_priority"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'blocked', 'completed', 'cancelled')",
            name="ck_tasks_status",
        ),
        sa.PrimaryKeyConstraint("number", name="pk_tasks"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_index("ix_tasks_assignee", "tasks", ["assignee"])
    op.create_table(
        "tasks_audit",
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("task_number", ID_TYPE, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks_audit"),
        sa.ForeignKeyConstraint(
            ["task_number"],
            ["tasks.number"],
            name="fk_tasks_audit_task_number_tasks",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tasks_audit_task_number", "tasks_audit", ["task_number", "id"])


def downgrade() -> None:
    """Drop both tables (audit first: it refers to tasks)."""
    op.drop_index("ix_tasks_audit_task_number", table_name="tasks_audit")
    op.drop_table("tasks_audit")
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.drop_index("ix_tasks_status", table_name="tasks")
    op.drop_table("tasks")
