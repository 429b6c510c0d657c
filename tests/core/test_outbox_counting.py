"""The outbox counts an ended event exactly once: inside the deleting transaction, just
before COMMIT, and a COMMIT that dies is followed by a quiet DELETE, never a second count.

Real PostgreSQL (a database of its own, whose connections the test terminates from outside)
and SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from boss.database import Database
from boss.outbox import Outbox, OutboxEvent, outbox, outbox_metadata
from tests.e2e.pg import create_database, drop_database, fetch_in

pytestmark = pytest.mark.anyio

TOPIC = "task.created"
WORKER = "test-worker"


async def _open(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(outbox_metadata.create_all)
    return db


@pytest.fixture
async def pg_database() -> AsyncIterator[Database]:
    """A PostgreSQL database of its own holding only the outbox table (the test cuts it)."""
    name, url = await anyio.to_thread.run_sync(create_database)
    db = await _open(url)
    try:
        yield db
    finally:
        await db.dispose()
        await anyio.to_thread.run_sync(drop_database, name)


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: Database
) -> AsyncIterator[Database]:
    """The outbox table on PostgreSQL or on an SQLite file."""
    if request.param == "postgresql":
        yield pg_database
        return
    db = await _open(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    try:
        yield db
    finally:
        await db.dispose()


async def _staged(db: Database, count: int) -> Outbox:
    box = Outbox(db)
    box.subscribe(TOPIC)
    async with db.begin() as conn:
        for i in range(count):
            await box.stage(conn, TOPIC, n=i)
    return box


async def _rows(db: Database) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


async def test_the_count_is_taken_inside_the_transaction_before_commit(database: Database) -> None:
    box = await _staged(database, 3)
    claimed = await box.claim([TOPIC], worker=WORKER, lease=30, limit=10)
    order: list[str] = []

    def on_commit(conn: Connection) -> None:
        order.append("COMMIT")

    event.listen(database.engine.sync_engine, "commit", on_commit)
    try:
        ended = await box.finish(
            [e.id for e in claimed], worker=WORKER, counted=lambda ids: order.append(f"{len(ids)}")
        )
    finally:
        event.remove(database.engine.sync_engine, "commit", on_commit)
    assert ended == {e.id for e in claimed}
    # the claim committed before; of finish's own transaction, the count comes first
    assert order[0] == "3"
    assert order[1:] == ["COMMIT"]
    assert await _rows(database) == 0


async def test_a_finish_of_events_someone_else_holds_counts_nothing(database: Database) -> None:
    box = await _staged(database, 2)
    claimed = await box.claim([TOPIC], worker="other", lease=30, limit=10)
    counts: list[set[int]] = []
    ended = await box.finish([e.id for e in claimed], worker=WORKER, counted=counts.append)
    assert ended == set()
    assert counts == []
    assert await _rows(database) == 2


async def test_a_commit_cut_after_the_count_deletes_quietly_and_counts_once(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_database
    name = str(database.url.database)
    box = await _staged(database, 4)
    claimed = await box.claim([TOPIC], worker=WORKER, lease=30, limit=10)
    counts: list[set[int]] = []
    cut: list[int] = []

    def terminate_all() -> None:
        sql = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        cut.append(int(fetch_in("postgres", sql)))

    def count_then_cut(ids: set[int]) -> None:
        counts.append(set(ids))
        # every connection of the database dies before the COMMIT is sent (a failover)
        cutter = threading.Thread(target=terminate_all)
        cutter.start()
        cutter.join(timeout=10)

    settled: list[int] = []
    settle = Outbox._settle

    async def spy(self: Outbox, statement: object, ids: set[int], *, within: float) -> None:
        settled.append(len(ids))
        await settle(self, statement, ids, within=within)

    monkeypatch.setattr(Outbox, "_settle", spy)
    ended = await box.finish([e.id for e in claimed], worker=WORKER, counted=count_then_cut)
    assert len(cut) == 1
    assert cut[0] >= 1, "the finishing connection was not terminated"
    assert settled == [4], "the COMMIT on the cut connection should have failed"
    assert ended == {e.id for e in claimed}
    assert counts == [ended]  # counted once, although the first COMMIT never happened
    assert await _rows(database) == 0  # the quiet DELETE on a fresh connection took them
    assert await box.claim([TOPIC], worker="other", lease=30, limit=10) == []


async def test_expired_events_are_counted_in_their_deleting_transaction(
    database: Database,
) -> None:
    box = await _staged(database, 2)
    seen: list[list[OutboxEvent]] = []
    expired = await box.expire([TOPIC], older_than=0.0, counted=seen.append)
    assert [e.id for e in expired] == [e.id for e in seen[0]]
    assert len(seen) == 1
    assert len(expired) == 2
    assert await _rows(database) == 0


async def test_a_failing_count_rolls_the_delete_back(database: Database) -> None:
    """A count that raises must not leave its events deleted and uncounted."""
    box = await _staged(database, 2)
    claimed = await box.claim([TOPIC], worker=WORKER, lease=30, limit=10)

    def broken(ids: set[int]) -> None:
        raise RuntimeError("counter unavailable")

    with pytest.raises(RuntimeError, match="counter unavailable"):
        await box.finish([e.id for e in claimed], worker=WORKER, counted=broken)
    assert await _rows(database) == 2
    counts: list[set[int]] = []
    assert await box.finish([e.id for e in claimed], worker=WORKER, counted=counts.append) == {
        e.id for e in claimed
    }
    assert counts == [{e.id for e in claimed}]
    assert await _rows(database) == 0
