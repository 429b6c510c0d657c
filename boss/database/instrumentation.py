"""Database metrics through SQLAlchemy engine and pool events.

``db_queries_total`` and ``db_query_duration_seconds`` are recorded around every cursor
execution; ``db_pool_connections`` is updated on every checkout, checkin and new
connection, so the pool gauge is current while serving, not only when someone looks.
"""

from __future__ import annotations

import re
from time import perf_counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from sqlalchemy.engine.interfaces import ExceptionContext
    from sqlalchemy.pool import Pool

__all__ = ("OPERATIONS", "POOL_STATES", "DatabaseMetrics", "classify", "pool_figures")

OPERATIONS = ("select", "insert", "update", "delete", "other")
POOL_STATES = ("checked_out", "idle", "overflow", "size")
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
_KNOWN = frozenset(OPERATIONS)
_STARTED = "boss_query_started"


def classify(statement: str) -> str:
    """The operation label of ``statement``: its first keyword when known, else ``other``."""
    match = _FIRST_WORD.match(statement)
    if match is None:
        return "other"
    word = match.group(1).lower()
    return word if word in _KNOWN else "other"


def pool_figures(pool: Pool, *, returning: bool = False) -> dict[str, int]:
    """Checked-out, idle, overflow and size of ``pool`` (zeros for pools without a queue).

    ``returning`` predicts the figures just after a connection is handed back: the pool's
    ``checkin`` event fires before the connection is actually returned to the queue.
    """
    size_of = getattr(pool, "size", None)
    if size_of is None or not hasattr(pool, "checkedin"):
        return dict.fromkeys(POOL_STATES, 0)
    size = int(size_of())
    idle = int(pool.checkedin())
    out = int(pool.checkedout())  # type: ignore[attr-defined]
    overflow = max(0, int(pool.overflow()))  # type: ignore[attr-defined]
    if returning and out > 0:
        out -= 1
        if idle < size:
            idle += 1
        else:  # the pool is full: the returned overflow connection is closed
            overflow = max(0, overflow - 1)
    return {"checked_out": out, "idle": idle, "overflow": overflow, "size": size}


class DatabaseMetrics:
    """Attach the core's database metrics to an engine (the sync engine of an async one)."""

    __slots__ = ("_duration", "_duration_children", "_pool", "_queries", "_query_children")

    def __init__(self, *, queries: Counter, duration: Histogram, pool: Gauge) -> None:
        self._queries = queries
        self._duration = duration
        self._pool = pool
        self._query_children = {op: queries.labels(op) for op in OPERATIONS}
        self._duration_children = {op: duration.labels(op) for op in OPERATIONS}

    def attach(self, engine: Engine) -> None:
        """Listen to ``engine``'s statement and pool events (they survive ``dispose``)."""
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._error)

        def changed(*_: Any) -> None:
            self.update_pool(engine.pool)

        def returned(*_: Any) -> None:
            self.update_pool(engine.pool, returning=True)

        event.listen(engine, "connect", changed)
        event.listen(engine, "checkout", changed)
        event.listen(engine, "checkin", returned)
        self.update_pool(engine.pool)

    def update_pool(self, pool: Pool, *, returning: bool = False) -> dict[str, int]:
        """Set the pool gauge from ``pool``'s current figures and return them."""
        figures = pool_figures(pool, returning=returning)
        for state, value in figures.items():
            self._pool.labels(state).set(value)
        return figures

    def _before(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        conn.info[_STARTED] = perf_counter()

    def _record(self, conn: Connection, statement: str | None) -> None:
        started = conn.info.pop(_STARTED, None)
        operation = classify(statement or "")
        self._query_children[operation].inc()
        if started is not None:
            self._duration_children[operation].observe(perf_counter() - started)

    def _after(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        self._record(conn, statement)

    def _error(self, context: ExceptionContext) -> None:
        if context.connection is not None and _STARTED in context.connection.info:
            self._record(context.connection, context.statement)
