"""List indexes, soft delete, priority rank and stored Idempotency-Keys.

Revision ID: tasks_0002
Revises: tasks_0001
Create Date: 2026-12-02

- ``deleted_at``: ``DELETE`` hides a task but keeps its row, so the audit trail (which
  refers to it) keeps the ``deleted`` entry and who made it.
- ``priority_rank`` (low 0 … urgent 3): sorting by priority is an indexed column, not a
  ``CASE`` expression.
- indexes for every sort key (each with ``number`` as the tie-breaker), case-insensitive
  assignee, and on PostgreSQL trigram GIN indexes for ``q`` (``pg_trgm``; when the extension
  cannot be created the search still works, by scanning).
- ``tasks_idempotency``: one row per (scope, caller, key) for 24 hours.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from boss.database import UtcDateTime

revision = "tasks_0002"
down_revision = "tasks_0001"
branch_labels = None
depends_on = None

logger = logging.getLogger("boss.tasks")
SORT_INDEXES = {
    "ix_tasks_updated_at": ["updated_at", "number"],
    "ix_tasks_deadline": ["deadline", "number"],
    "ix_tasks_priority_rank": ["priority_rank", "number"],
    "ix_tasks_status_number": ["status", "number"],
}
TRIGRAM_INDEXES = {"ix_tasks_title_trgm": "title", "ix_tasks_description_trgm": "description"}


def _create_trigram_indexes() -> None:
    bind = op.get_bind()
    nested = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        nested.rollback()
        logger.warning("pg_trgm is not available (%s): text search (q) works without an index", exc)
        return
    nested.commit()
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tasks USING gin (lower({column}) gin_trgm_ops)")


def upgrade() -> None:
    """Add the columns, the idempotency table and the list indexes."""
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("deleted_at", UtcDateTime, nullable=True))
        batch.add_column(
            sa.Column("priority_rank", sa.SmallInteger, nullable=False, server_default="1")
        )
    op.execute(
        "UPDATE tasks SET priority_rank = CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 "
        "WHEN 'high' THEN 2 ELSE 3 END"
    )
    for name, columns in SORT_INDEXES.items():
        op.create_index(name, "tasks", columns)
    op.create_index("ix_tasks_assignee_lower", "tasks", [sa.text("lower(assignee)")])
    if op.get_bind().dialect.name == "postgresql":
        _create_trigram_indexes()
    op.create_table(
        "tasks_idempotency",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("headers", sa.JSON, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("scope", "actor", "key", name="pk_tasks_idempotency"),
    )
    op.create_index("ix_tasks_idempotency_expires_at", "tasks_idempotency", ["expires_at"])


def downgrade() -> None:
    """Drop what ``upgrade`` added (deleted tasks come back)."""
    op.drop_index("ix_tasks_idempotency_expires_at", table_name="tasks_idempotency")
    op.drop_table("tasks_idempotency")
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_tasks_assignee_lower", table_name="tasks")
    for name in SORT_INDEXES:
        op.drop_index(name, table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("priority_rank")
        batch.drop_column("deleted_at")
