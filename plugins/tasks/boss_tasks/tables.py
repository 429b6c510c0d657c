"""The tasks plugin's tables (SQLAlchemy Core); Alembic migrations create them.

Task numbers come from an identity column (a sequence on PostgreSQL, ``AUTOINCREMENT`` on
SQLite), so concurrent creates get distinct, increasing numbers without ``max() + 1``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)

from boss.database import UtcDateTime, new_metadata

__all__ = ("ID_TYPE", "audit", "idempotency", "metadata", "tasks")

metadata = new_metadata()
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
"""BIGINT on PostgreSQL; INTEGER on SQLite, where only that aliases the rowid."""

tasks = Table(
    "tasks",
    metadata,
    Column("number", ID_TYPE, Identity(), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("assignee", String(100), nullable=True),
    Column("priority", String(16), nullable=False, server_default="medium"),
    Column("deadline", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("deleted_at", UtcDateTime, nullable=True),
    Column("priority_rank", SmallInteger, nullable=False, server_default="1"),
    CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name="priority"),
    CheckConstraint(
        "status IN ('pending', 'in_progress', 'blocked', 'completed', 'cancelled')", name="status"
    ),
    Index("ix_tasks_status", "status"),
    Index("ix_tasks_assignee", "assignee"),
    Index("ix_tasks_updated_at", "updated_at", "number"),
    Index("ix_tasks_deadline", "deadline", "number"),
    Index("ix_tasks_priority_rank", "priority_rank", "number"),
    Index("ix_tasks_status_number", "status", "number"),
    Index("ix_tasks_assignee_lower", func.lower(text("assignee"))),
    sqlite_autoincrement=True,
)
"""Tasks; a deleted task keeps its row (``deleted_at`` set) so its audit trail stays whole.

On PostgreSQL migration ``tasks_0002`` also adds trigram GIN indexes on ``lower(title)`` and
``lower(description)`` for the ``q`` search.
"""

audit = Table(
    "tasks_audit",
    metadata,
    Column("id", ID_TYPE, Identity(), primary_key=True),
    Column(
        "task_number",
        ID_TYPE,
        ForeignKey("tasks.number", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("note", Text, nullable=True),
    Index("ix_tasks_audit_task_number", "task_number", "id"),
    sqlite_autoincrement=True,
)

idempotency = Table(
    "tasks_idempotency",
    metadata,
    Column("scope", String(64), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "actor", "key"),
    Index("ix_tasks_idempotency_expires_at", "expires_at"),
)
"""Stored ``Idempotency-Key`` answers: ``pending`` while the first request runs, then ``done``."""
