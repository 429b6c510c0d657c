"""The end-to-end test's own PostgreSQL database, and a way to drop every connection to it.

The test owns its database (rather than sharing the session's) because it cuts boss's
connections on purpose, as a database failover would, to provoke real server errors.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg

from tests.conftest import PG_ADMIN_DSN

__all__ = ("create_database", "drop_database", "terminate_connections")


def _run(sql: str, *args: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def create_database() -> tuple[str, str]:
    """Create an empty database; returns its name and boss's URL for it."""
    name = f"boss_e2e_{secrets.token_hex(4)}"
    _run(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    """Drop the database, closing whatever is still connected."""
    _run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_connections(name: str) -> int:
    """Terminate every server process connected to ``name``; returns how many there were."""
    count: int = _run(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    return count
