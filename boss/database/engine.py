"""The ``Database``: one async SQLAlchemy engine per app, shared by every plugin.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and write
transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue for the lock
instead of failing half-way; PostgreSQL uses asyncpg with the configured pool.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from boss.database import faults
from boss.database.instrumentation import DatabaseMetrics, pool_figures
from boss.database.retry import commit_not_applied, confirm_commit, track_commits

if TYPE_CHECKING:
    from litestar import Litestar

    from boss.metrics_registry import MetricHandles
    from boss.settings import Settings

__all__ = (
    "PING_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT",
    "Database",
    "DatabaseUnavailable",
    "describe_error",
)

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds an SQLite writer waits for the write lock before giving up."""
PING_TIMEOUT = 3.0
"""Seconds ``ping`` waits for ``SELECT 1``."""
WRITE_OPTION = "boss_write"
_CURRENT_XID = text("SELECT txid_current()")
_XID_STATUS = text("SELECT txid_status(:xid)")
logger = logging.getLogger("boss.database")


class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the message is safe to show (no credentials)."""


def describe_error(exc: BaseException, *, secrets: tuple[str, ...] = ()) -> str:
    """A one-line reason for ``exc`` with any of ``secrets`` (and URL passwords) removed."""
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).splitlines()[0] if str(orig) else ""
    text_ = f"{type(orig).__name__}: {message}" if message else type(orig).__name__
    for secret in secrets:
        if secret:
            text_ = text_.replace(secret, "***")
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text_)


class Database:
    """An async engine with instrumentation, SQLite tuning, sessions and a health check."""

    __slots__ = (
        "_write_engine",
        "backend",
        "engine",
        "metrics",
        "outbox",
        "sessionmaker",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        pool_recycle: int = 1800,
        echo: bool = False,
    ) -> None:
        parsed = make_url(url)
        self.url = parsed
        """The parsed URL (render with ``hide_password=True`` when showing it)."""
        self.backend = parsed.get_backend_name()
        """``sqlite`` or ``postgresql``."""
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": False}
        if self.backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                options.update(pool_size=pool_size, max_overflow=max_overflow)
                options.update(pool_timeout=pool_timeout)
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
        else:
            options.update(
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_recycle=pool_recycle,
                # one round trip per checkout, so a restarted server costs no failed request
                pool_pre_ping=True,
                connect_args={"timeout": min(pool_timeout, 10.0)},
            )
        self.engine: AsyncEngine = create_async_engine(parsed, **options)
        """The engine for reads and for anything that manages its own transactions."""
        if self.backend == "sqlite":
            _tune_sqlite(self.engine)
        # Dead connections are invalidated (never handed out again); COMMITs are tracked so
        # a request that lost its connection is repeated only when nothing was committed.
        faults.install(self.engine.sync_engine)
        track_commits(self.engine.sync_engine)
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        """ORM sessions bound to the engine (``db_session`` dependency hands these out)."""
        self.metrics: DatabaseMetrics | None = None
        from boss.outbox import Outbox  # here: boss.outbox imports boss.database

        self.outbox = Outbox(self)
        """The transactional outbox: ``await db.outbox.stage(conn, topic, **payload)``."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database ``settings`` describe (the embedded SQLite file by default)."""
        db = settings.database
        return cls(
            settings.database_url,
            pool_size=db.pool_size,
            max_overflow=db.max_overflow,
            pool_timeout=db.pool_timeout,
            pool_recycle=db.pool_recycle,
            echo=db.echo,
        )

    def instrument(self, handles: MetricHandles) -> None:
        """Attach the core's ``db_*`` metrics (handles by metric name) to the engine."""
        if self.metrics is not None:
            return
        self.metrics = DatabaseMetrics(
            queries=handles.counter("db_queries_total"),
            duration=handles.histogram("db_query_duration_seconds"),
            pool=handles.gauge("db_pool_connections"),
        )
        self.metrics.attach(self.engine.sync_engine)

    @property
    def location(self) -> str:
        """Where the database is, without user name or password (for health answers)."""
        if self.backend == "sqlite":
            return f"sqlite:{self.url.database or ':memory:'}"
        port = f":{self.url.port}" if self.url.port else ""
        return f"{self.backend}://{self.url.host or 'localhost'}{port}/{self.url.database or ''}"

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (a deferred transaction that is rolled back at the end)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on an error.

        On SQLite it starts with ``BEGIN IMMEDIATE`` so it waits for the write lock up front.
        On PostgreSQL the transaction's id is read first, so that when the connection dies
        during COMMIT the outcome is looked up (``txid_status``) on a fresh connection
        instead of guessed: committed counts as success, aborted lets the request be
        repeated, and only a still-unknown outcome surfaces as the fault (503).
        """
        if self.backend != "postgresql":
            async with self._write_engine.begin() as conn:
                yield conn
            confirm_commit()
            return
        async with self._write_engine.connect() as conn:
            await conn.begin()
            xid = int((await conn.execute(_CURRENT_XID)).scalar_one())
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.rollback()
                raise
            try:
                await conn.commit()
            except Exception as exc:
                if faults.fault_kind(exc) != "disconnect":
                    raise
                outcome = await self.transaction_outcome(xid)
                if outcome != "committed":
                    if outcome == "aborted":
                        commit_not_applied()
                    raise
                logger.info("COMMIT lost its connection but transaction %d committed", xid)
        confirm_commit()

    async def transaction_outcome(self, xid: int, *, wait: float = 10.0) -> str | None:
        """``committed``, ``aborted`` or ``None`` (unknown) for PostgreSQL transaction ``xid``.

        Asked on a fresh connection; ``in progress`` (the dying backend has not finished)
        and an unreachable server (restarting) are asked again for up to ``wait`` seconds.
        """
        deadline = anyio.current_time() + wait
        while True:
            try:
                async with self.engine.connect() as conn:
                    status = (await conn.execute(_XID_STATUS, {"xid": xid})).scalar_one()
            except Exception as exc:
                if faults.fault_kind(exc) is None or anyio.current_time() >= deadline:
                    logger.warning("cannot look up transaction %d: %s", xid, describe_error(exc))
                    return None
                await anyio.sleep(0.2)
                continue
            if status in ("committed", "aborted"):
                return str(status)
            if anyio.current_time() >= deadline:
                return None
            await anyio.sleep(0.05)

    async def wait_ready(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds until ``SELECT 1`` answers; whether it did."""
        deadline = anyio.current_time() + limit
        while True:
            try:
                with anyio.fail_after(max(0.1, deadline - anyio.current_time())):
                    async with self.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                return True
            except Exception:
                if anyio.current_time() >= deadline:
                    return False
                await anyio.sleep(0.2)

    def session(self) -> AsyncSession:
        """A new ORM session (the caller closes it; ``async with db.session() as s``)."""
        return self.sessionmaker()

    async def session_dependency(self) -> AsyncIterator[AsyncSession]:
        """Litestar dependency: a session per request, closed after the response."""
        async with self.sessionmaker() as session:
            yield session

    def pool_status(self) -> dict[str, int]:
        """Current pool figures (checked out, idle, overflow, size); also updates the gauge."""
        pool = self.engine.sync_engine.pool
        if self.metrics is not None:
            return self.metrics.update_pool(pool)
        return pool_figures(pool)

    async def ping(self) -> dict[str, int]:
        """Run ``SELECT 1``; return the pool figures or raise ``DatabaseUnavailable``."""
        secrets = (self.url.password or "",)
        timeout = PING_TIMEOUT
        try:
            with anyio.fail_after(timeout):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except TimeoutError:
            raise DatabaseUnavailable(f"no answer within {timeout:g} s") from None
        except Exception as exc:
            raise DatabaseUnavailable(describe_error(exc, secrets=secrets)) from None
        return self.pool_status()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """App lifespan: nothing to open (connections are lazy); dispose the pool at exit."""
        try:
            yield
        finally:
            await self.dispose()


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout and foreign keys on every connection; explicit BEGIN modes."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # The driver's own implicit BEGIN is switched off; ``on_begin`` emits ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"BEGIN {mode}")
        cursor.close()
