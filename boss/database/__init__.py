"""The database layer every plugin shares: one async engine, metrics, migrations, health.

``Database`` is created by ``create_app`` from ``settings.database_url``, registered in
``PluginContext.services`` and kept in ``app.state["database"]``; plugins ship their own
Alembic branch (``BossPlugin.migrations``) and ``boss db upgrade`` applies them all.
"""

from __future__ import annotations

from boss.database.engine import Database, DatabaseUnavailable, describe_error
from boss.database.instrumentation import OPERATIONS, POOL_STATES, classify
from boss.database.types import NAMING_CONVENTION, UtcDateTime, new_metadata

__all__ = (
    "NAMING_CONVENTION",
    "OPERATIONS",
    "POOL_STATES",
    "Database",
    "DatabaseUnavailable",
    "UtcDateTime",
    "classify",
    "describe_error",
    "new_metadata",
)
