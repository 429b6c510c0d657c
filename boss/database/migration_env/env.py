"""Alembic environment for boss: migrations run on a connection that boss hands in.

boss configures Alembic in code (``boss.database.migrations``); no ``alembic.ini`` exists.
Each plugin's versions are their own branch, all recorded in one ``alembic_version`` table.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the plain alembic CLI
    raise RuntimeError("boss migrations run through 'boss db upgrade', not the alembic CLI")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
