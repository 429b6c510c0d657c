"""Shared fixtures: real PostgreSQL and Redis on this machine, fresh per test session.

Every fixture that needs a service fails (never skips) when the service is unreachable,
so CI cannot go green without them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from boss import BossPlugin

PG_ADMIN_DSN = os.environ.get("BOSS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("BOSS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
ADMIN_KEY = "admin-test-key-0123456789"
MEMBER_KEY = "member-test-key-0123456789"
API_KEYS = f"ana:admin:{ADMIN_KEY},bob:member:{MEMBER_KEY}"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MEMBER = {"Authorization": f"Bearer {MEMBER_KEY}"}


@pytest.fixture
def anyio_backend() -> str:
    """anyio's pytest plugin runs async tests on asyncio."""
    return "asyncio"


@asynccontextmanager
async def migrated_database(url: str, plugins: Sequence[BossPlugin]) -> AsyncIterator[str]:
    """``url`` with ``plugins``' migrations applied from base; reverted to base afterwards."""
    from boss.database import Database
    from boss.database import migrations as mig

    database = Database(url)
    await mig.downgrade(database, plugins, "base")  # a clean slate on a shared database
    await mig.upgrade(database, plugins)
    await database.dispose()
    try:
        yield url
    finally:
        database = Database(url)
        await mig.downgrade(database, plugins, "base")
        await database.dispose()


@pytest.fixture
async def pg_tasks(pg_url: str) -> AsyncIterator[str]:
    """The session's PostgreSQL database with the tasks tables (reverted afterwards)."""
    from boss_tasks import TasksPlugin

    async with migrated_database(pg_url, [TasksPlugin()]) as url:
        yield url


def _run_pg(sql: str) -> None:
    import asyncio

    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session (dropped afterwards)."""
    name = f"boss_test_{secrets.token_hex(4)}"
    try:
        _run_pg(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - environment problem, loud on purpose
        pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} is required and unreachable: {exc}")
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    _run_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis, on a database number chosen per test and flushed around it."""
    import redis

    db = 1 + secrets.randbelow(15)
    url = f"{REDIS_BASE_URL}/{db}"
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        client.flushdb()
    except Exception as exc:  # pragma: no cover
        pytest.fail(f"Redis at {REDIS_BASE_URL} is required and unreachable: {exc}")
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a boss app: embedded defaults in a temporary data directory, test keys."""
    return {"BOSS_DATA_DIR": str(tmp_path / "data"), "BOSS_API_KEYS": API_KEYS}
