"""The transactional outbox: domain events written in the same transaction as the change.

A plugin that changes data calls ``await database.outbox.stage(conn, "task.created", ...)``
inside its write transaction; the event row commits (or rolls back) with the change, so a
crash, a restart or a lost connection can neither lose a notification of a committed
change nor announce one that never happened. Consumers (the Discord plugin) ``subscribe``
to topics at start-up (only subscribed topics are written, so the table is needed only
where a consumer is installed and migrated) and drain with ``claim``: on PostgreSQL
``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other worker holds and marks them with
a lease; on SQLite the same statement runs in a ``BEGIN IMMEDIATE`` transaction, which
serialises claimers. A consumer ends each event with ``finish`` (deleted: exactly one
worker gets it back), ``release`` (try again later) or the age policy ``expire``.

Counting an ended event exactly once: a consumer's in-process counter and the outbox row
cannot change atomically, so ``finish`` and ``expire`` call the consumer's ``counted``
hook inside the deleting transaction, as the last step before COMMIT, with no await in
between. A worker SIGKILLed after its DELETE committed has therefore counted already (the
former order, count after the commit's answer, lost a whole pass's count to a kill landing
during that round trip and the pool's reset); a COMMIT that fails or whose outcome is
unknown is followed by a quiet DELETE of the same rows (no second count) for as long as the
lease holds them. The one gap left is a SIGKILL between the count and the COMMIT leaving
the process (microseconds on PostgreSQL; on SQLite the hand-off to aiosqlite's thread):
then the pass is counted again by whoever takes it over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from boss.database.types import UtcDateTime, new_metadata

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from boss.database.engine import Database

__all__ = ("OUTBOX_TABLE", "Outbox", "OutboxEvent", "outbox_metadata", "worker_identity")

logger = logging.getLogger("boss.outbox")
SETTLE_WAIT = 10.0
"""Seconds ``expire`` keeps trying to delete rows it counted when their COMMIT failed."""

outbox_metadata = new_metadata()
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
OUTBOX_TABLE = "boss_outbox"

outbox = Table(
    OUTBOX_TABLE,
    outbox_metadata,
    Column("id", ID_TYPE, Identity(), primary_key=True),
    Column("topic", String(100), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("claimed_by", String(100), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Index("ix_boss_outbox_topic_id", "topic", "id"),
)


def worker_identity() -> str:
    """A name for this process that no other process shares (host, pid, random suffix)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class OutboxEvent(msgspec.Struct, frozen=True):
    """One staged event as a consumer sees it."""

    id: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def _event(row: Any) -> OutboxEvent:
    return OutboxEvent(
        id=int(row.id),
        topic=row.topic,
        payload=dict(row.payload),
        created_at=row.created_at,
        attempts=int(row.attempts),
    )


class Outbox:
    """Stage events for subscribed topics; claim, finish, release and expire them."""

    __slots__ = ("_database", "_topics")

    def __init__(self, database: Database) -> None:
        self._database = database
        self._topics: set[str] = set()

    @property
    def topics(self) -> frozenset[str]:
        """Topics some consumer subscribed to (only these are written)."""
        return frozenset(self._topics)

    def subscribe(self, *topics: str) -> None:
        """Have ``stage`` write events of ``topics`` (a consumer calls this at start-up)."""
        self._topics.update(topics)

    def unsubscribe(self, *topics: str) -> None:
        """Stop writing ``topics`` (the consumer is shutting down for good)."""
        self._topics.difference_update(topics)

    async def stage(self, conn: AsyncConnection, topic: str, /, **payload: Any) -> bool:
        """Write an event in the caller's transaction ``conn``; ``False`` if nobody listens.

        ``payload`` is stored as JSON (msgspec Structs and datetimes become plain values).
        """
        if topic not in self._topics:
            return False
        await conn.execute(
            insert(outbox).values(
                topic=topic, payload=msgspec.to_builtins(payload), created_at=_now()
            )
        )
        return True

    async def claim(
        self, topics: Iterable[str], *, worker: str, lease: float, limit: int
    ) -> list[OutboxEvent]:
        """Up to ``limit`` oldest unclaimed (or lease-expired) events of ``topics``, leased.

        Each event is held by one worker at a time: ``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL, the write lock on SQLite.
        """
        now = _now()
        free = (outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now)
        pick = (
            select(outbox.c.id)
            .where(outbox.c.topic.in_(list(topics)), free)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if self._database.backend == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(pick.scalar_subquery()))
            .values(
                claimed_until=now + timedelta(seconds=lease),
                claimed_by=worker,
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        )
        async with self._database.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((_event(row) for row in rows), key=lambda event: event.id)

    async def finish(
        self,
        ids: Sequence[int],
        *,
        worker: str,
        counted: Callable[[set[int]], None] | None = None,
        lease: float = SETTLE_WAIT,
    ) -> set[int]:
        """Delete the events ``worker`` still holds; returns the ids it really deleted.

        Counting only these makes every event end once even if a lease ran out and
        another worker took the event over. ``counted`` receives them inside the
        transaction, just before COMMIT (see the module docstring); if that COMMIT fails,
        the rows are deleted again without counting for up to ``lease`` seconds (while this
        worker still holds them) before the error is raised.
        """
        if not ids:
            return set()
        statement = (
            delete(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.claimed_by == worker)
            .returning(outbox.c.id)
        )
        done: set[int] = set()
        was_counted = False
        try:
            async with self._database.begin() as conn:
                done = {int(row.id) for row in (await conn.execute(statement)).all()}
                if counted is not None and done:
                    counted(done)  # no await from here until COMMIT is on the wire
                    was_counted = True
        except Exception:
            if not was_counted:  # nothing counted (or the hook failed): rolled back, as is
                raise
            await self._settle(statement, done, within=lease)
        return done

    async def _settle(self, statement: Any, counted: set[int], *, within: float) -> None:
        """Delete rows already counted whose COMMIT failed, without counting them again."""
        deadline = anyio.current_time() + within
        pause = 0.2
        while True:
            try:
                async with self._database.begin() as conn:
                    await conn.execute(statement)
            except Exception as exc:
                if anyio.current_time() + pause >= deadline:
                    logger.warning(
                        "outbox: %d event(s) counted but their DELETE did not commit (%s); "
                        "whoever takes them over counts them again",
                        len(counted),
                        type(exc).__name__,
                    )
                    raise
                await anyio.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            return

    async def extend(self, ids: Sequence[int], *, worker: str, lease: float) -> None:
        """Renew ``worker``'s lease on ``ids`` (a long pass keeps its events while it lives)."""
        if not ids:
            return
        async with self._database.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.claimed_by == worker)
                .values(claimed_until=_now() + timedelta(seconds=lease))
            )

    async def release(self, ids: Sequence[int], *, worker: str) -> None:
        """Give the events back (unsent, to be claimed again on a later pass)."""
        if not ids:
            return
        async with self._database.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.claimed_by == worker)
                .values(claimed_until=None, claimed_by=None)
            )

    async def expire(
        self,
        topics: Iterable[str],
        *,
        older_than: float,
        counted: Callable[[list[OutboxEvent]], None] | None = None,
    ) -> list[OutboxEvent]:
        """Delete and return unclaimed events older than ``older_than`` seconds (age policy).

        ``counted`` sees the deleted events just before COMMIT, as in ``finish``.
        """
        now = _now()
        statement = (
            delete(outbox)
            .where(
                outbox.c.topic.in_(list(topics)),
                outbox.c.created_at < now - timedelta(seconds=older_than),
                (outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now),
            )
            .returning(*outbox.c)
        )
        events: list[OutboxEvent] = []
        was_counted = False
        try:
            async with self._database.begin() as conn:
                events = [_event(row) for row in (await conn.execute(statement)).all()]
                if counted is not None and events:
                    counted(events)
                    was_counted = True
        except Exception:
            if not was_counted:
                raise
            again = delete(outbox).where(outbox.c.id.in_([e.id for e in events]))
            await self._settle(again, {e.id for e in events}, within=SETTLE_WAIT)
        return events

    async def pending(self, topics: Iterable[str]) -> int:
        """How many events of ``topics`` wait (claimed or not)."""
        async with self._database.connect() as conn:
            count = (
                await conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.topic.in_(list(topics)))
                )
            ).scalar_one()
        return int(count)

    async def exists(self) -> bool:
        """Whether the outbox table is there (a consumer's migration created it)."""
        try:
            async with self._database.connect() as conn:
                await conn.execute(select(outbox.c.id).limit(1))
        except Exception:
            return False
        return True
