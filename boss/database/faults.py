"""Which database errors are connection faults, and teaching SQLAlchemy to see them.

A connection fault is an error that says nothing about the statement and everything about
the connection: the server terminated it (``AdminShutdownError`` on failover,
``pg_terminate_backend`` or a pooler restart), refuses new ones (``CannotConnectNowError``
while starting), the socket is gone (``ConnectionDoesNotExistError``, ``OSError``), or
asyncpg's protocol was left unusable by one of those. The last case is asyncpg's
``InternalClientError: cannot switch to state 12; another operation (2) is in progress``:
when the server's FATAL message reaches an *idle* pooled connection, asyncpg's reader meets
an ``ErrorResponse`` in the idle state and parks the protocol in ``ERROR_CONSUME`` (2)
waiting for a ``ReadyForQuery`` that never comes; until the socket's EOF is read, the next
statement on that connection (state 12 bind/execute, 15 simple query) fails this way. No
coroutine shares the connection; asyncpg just does not report the dead connection as closed
yet, so SQLAlchemy's own ``is_disconnect`` (``is_closed()``) says no and hands the broken
connection back to the pool. ``install`` marks all of these as disconnects in SQLAlchemy's
``handle_error`` hook, so the connection (and the pool it came from) is invalidated and the
next checkout, including ``pool_pre_ping``, gets a fresh one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.interfaces import ExceptionContext

__all__ = ("FaultKind", "fault_kind", "install", "is_connection_fault", "never_sent")

FaultKind = Literal["disconnect", "unavailable"]
"""``disconnect``: the connection died (retry on a fresh one may work at once);
``unavailable``: the database cannot be reached or is saturated (pool timeout, refused
connection, SQLite busy); both answer 503."""

_DISCONNECT_TYPES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    ConnectionError,  # ConnectionResetError, BrokenPipeError, ConnectionRefusedError ...
)
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    asyncpg.TooManyConnectionsError,
    sa_exc.TimeoutError,  # QueuePool limit reached: every connection is busy
    TimeoutError,  # connect timeout
    OSError,  # host unreachable, name resolution ...
)
_NEVER_SENT = ("another operation", 'protocol is in the "failed" state', "not connected")
"""asyncpg ``InternalClientError`` messages raised before the operation is written."""
_BROKEN_PROTOCOL = (*_NEVER_SENT, "unexpected state")
_SQLITE_BUSY = ("database is locked", "database is busy")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, SQLAlchemy's ``orig`` and every cause/context, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend((item.__cause__, item.__context__))
        orig = getattr(item, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)


def fault_kind(exc: BaseException) -> FaultKind | None:
    """``disconnect``, ``unavailable`` or ``None`` (a statement error, a bug: not a fault)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "disconnect"
    unavailable = False
    for item in _chain(exc):
        if isinstance(item, sa_exc.StatementError) and not isinstance(item, sa_exc.DBAPIError):
            continue  # a wrapper: look at what it wraps
        if isinstance(item, _DISCONNECT_TYPES):
            return "disconnect"
        if isinstance(item, asyncpg.InterfaceError) and "closed" in str(item):
            return "disconnect"  # "connection is closed", "... connection was closed ..."
        if isinstance(item, asyncpg.InternalClientError) and any(
            marker in str(item) for marker in _BROKEN_PROTOCOL
        ):
            return "disconnect"
        if (
            isinstance(item, sqlite3.OperationalError)
            and any(marker in str(item) for marker in _SQLITE_BUSY)
        ) or isinstance(item, _UNAVAILABLE_TYPES):
            unavailable = True
    return "unavailable" if unavailable else None


def never_sent(exc: BaseException) -> bool:
    """Whether asyncpg refused to start the operation: its protocol was already broken.

    ``_set_state`` raises before anything is written to the socket, so the server never saw
    the statement (for a COMMIT: the transaction was not committed by this request).
    """
    return any(
        isinstance(item, asyncpg.InternalClientError)
        and any(marker in str(item) for marker in _NEVER_SENT)
        for item in _chain(exc)
    )


def is_connection_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a connection fault of either kind (answer 503, not 500)."""
    return fault_kind(exc) is not None


def _on_error(context: ExceptionContext) -> None:
    if not context.is_disconnect and fault_kind(context.original_exception) == "disconnect":
        context.is_disconnect = True


def install(engine: Engine) -> None:
    """Make ``engine`` invalidate connections on every fault ``fault_kind`` calls a disconnect."""
    if not event.contains(engine, "handle_error", _on_error):
        event.listen(engine, "handle_error", _on_error)
