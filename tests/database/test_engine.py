"""The shared ``Database``: statement classification, pool figures, SQLite tuning, ping."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from boss.database import Database, DatabaseUnavailable, classify, describe_error
from boss.database.fragments import DB_METRICS
from boss.metrics_registry import materialise

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "select"),
        ("  \n select * from t", "select"),
        ("INSERT INTO t VALUES (1)", "insert"),
        ("update t set a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "other"),
        ("BEGIN", "other"),
        ("PRAGMA journal_mode", "other"),
        ("", "other"),
        ("-- comment\nSELECT 1", "other"),
    ],
)
def test_classify(statement: str, operation: str) -> None:
    assert classify(statement) == operation


def test_describe_error_hides_passwords() -> None:
    exc = RuntimeError("cannot connect to postgresql://boss:hunter2@db:5432/boss")
    text_ = describe_error(exc, secrets=("hunter2",))
    assert "hunter2" not in text_
    assert "RuntimeError" in text_
    assert "postgresql://boss:***@db" in describe_error(
        RuntimeError("postgresql://boss:s3cret@db/x")
    )


def _instrumented(url: str, **options: int) -> tuple[Database, CollectorRegistry]:
    registry = CollectorRegistry()
    database = Database(url, **options)  # type: ignore[arg-type]
    database.instrument(materialise("core", DB_METRICS, registry))
    return database, registry


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_pool_gauge_is_current_while_serving(db_url: str) -> None:
    database, registry = _instrumented(db_url, pool_size=2, max_overflow=4)
    try:
        assert _value(registry, "db_pool_connections", state="size") == 2
        async with database.connect() as first, database.connect() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
            async with database.connect() as third:
                await third.execute(text("SELECT 1"))
                assert _value(registry, "db_pool_connections", state="checked_out") == 3
                assert _value(registry, "db_pool_connections", state="overflow") == 1
            # back in the queue: three connections are still open, one beyond the pool size
            assert _value(registry, "db_pool_connections", state="checked_out") == 2
            assert _value(registry, "db_pool_connections", state="idle") == 1
            assert _value(registry, "db_pool_connections", state="overflow") == 1
        # the queue is full: the connection beyond the pool size is closed on return
        assert _value(registry, "db_pool_connections", state="overflow") == 0
        assert _value(registry, "db_pool_connections", state="checked_out") == 0
        assert _value(registry, "db_pool_connections", state="idle") == 2
        assert database.pool_status() == {"checked_out": 0, "idle": 2, "overflow": 0, "size": 2}
        assert (_value(registry, "db_queries_total", operation="select") or 0) >= 3
        count = _value(registry, "db_query_duration_seconds_count", operation="select")
        assert count is not None
        assert count >= 3
    finally:
        await database.dispose()


async def test_sqlite_runs_in_wal_mode_and_serialises_writers(tmp_path: object) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/w/x.db", pool_size=3, max_overflow=5)
    try:
        async with database.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 30000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        async with database.begin() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(text("INSERT INTO counter VALUES (0)"))

        async def bump() -> None:
            async with database.begin() as conn:
                n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
                await asyncio.sleep(0.005)  # read-modify-write: lost updates would show
                await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

        await asyncio.gather(*(bump() for _ in range(25)))
        async with database.connect() as conn:
            assert (await conn.execute(text("SELECT n FROM counter"))).scalar_one() == 25
    finally:
        await database.dispose()


async def test_ping(db_url: str) -> None:
    database = Database(db_url)
    try:
        figures = await database.ping()
        assert set(figures) == {"checked_out", "idle", "overflow", "size"}
        assert figures["checked_out"] == 0
    finally:
        await database.dispose()


async def test_ping_failure_names_the_reason_not_the_password() -> None:
    database = Database("postgresql+asyncpg://boss:hunter2@127.0.0.1:1/boss")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await database.ping()
        assert "hunter2" not in str(caught.value)
        assert "refused" in str(caught.value).lower() or "connect" in str(caught.value).lower()
        assert "hunter2" not in database.location
        assert "boss@" not in database.location
    finally:
        await database.dispose()
