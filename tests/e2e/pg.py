"""The end-to-end test's own PostgreSQL database, and a way to drop every connection to it.

The test owns its database (rather than sharing the session's) because it breaks it on
purpose, from outside, to provoke real server errors.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.conftest import PG_ADMIN_DSN

__all__ = ("create_database", "drop_database", "execute_in", "fetch_in")


def _dsn_for(database: str | None) -> str:
    if database is None:
        return PG_ADMIN_DSN
    parts = urlsplit(PG_ADMIN_DSN)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _run(sql: str, *args: Any, database: str | None = None) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(_dsn_for(database), timeout=5)
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


def execute_in(database: str, sql: str) -> None:
    """Run one statement in ``database`` (as the admin user)."""
    _run(sql, database=database)


def fetch_in(database: str, sql: str) -> Any:
    """The first value ``sql`` returns in ``database`` (as the admin user)."""
    return _run(sql, database=database)
