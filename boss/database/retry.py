"""Database faults answer 503 (never 500), and a request is retried once when that is safe.

Every request runs inside an ``Attempt`` (a context variable the middleware sets). The
engine's ``commit`` event marks it the moment a COMMIT is about to be sent. When a
connection fault (``boss.database.faults``) reaches the exception handler:

* if the request has not started its answer and either its method is safe (GET, HEAD,
  OPTIONS) or no COMMIT of it can have taken effect (none was sent, so PostgreSQL rolled
  the open transaction back with the connection; or ``Database.begin`` looked the lost
  COMMIT up and found it aborted), the handler's 503 is swallowed and the middleware runs
  the request again, once, on a fresh connection (the pool was invalidated by the fault),
  after waiting up to ``READY_WAIT`` seconds for the database to answer (a restart);
* otherwise the client gets ``503`` ``application/problem+json`` with ``Retry-After`` and
  the problem type ``/problems/database-unavailable``: the outcome of a COMMIT that lost its
  connection is unknown, and only the client can decide to repeat it.

Both outcomes count in ``db_connection_faults_total`` (kind, action) and the 503s in
``errors_total``.
"""

from __future__ import annotations

import logging
import sqlite3
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import asyncpg
from litestar.enums import ScopeType
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from boss.database.faults import fault_kind
from boss.errors import problem_response, problem_type

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Request, Response
    from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
    from prometheus_client import Counter
    from sqlalchemy.engine import Connection, Engine

    from boss.database.engine import Database

__all__ = (
    "DATABASE_UNAVAILABLE",
    "DATABASE_UNAVAILABLE_KIND",
    "FAULT_ACTIONS",
    "FAULT_KINDS",
    "RETRY_AFTER",
    "SAFE_METHODS",
    "Attempt",
    "DatabaseFaultHandler",
    "DatabaseRetryMiddleware",
    "commit_not_applied",
    "confirm_commit",
    "current_attempt",
    "track_commits",
)

DATABASE_UNAVAILABLE_KIND = "database-unavailable"
"""Problem kind (``boss.errors.PROBLEM_KINDS``) of a 503 caused by the database."""
DATABASE_UNAVAILABLE = problem_type(DATABASE_UNAVAILABLE_KIND)
"""Problem ``type`` of a 503 caused by the database (connection lost, refused or saturated):
``/problems/database-unavailable``."""
RETRY_AFTER = 1
"""Seconds clients are asked to wait (``Retry-After``) before repeating the request."""
READY_WAIT = 5.0
"""Seconds a retry waits for the database to answer again (a failover or restart)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAULT_KINDS = ("disconnect", "unavailable")
FAULT_ACTIONS = ("retried", "rejected")
EXCEPTION_TYPES: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    sqlite3.Error,
    OSError,
)
"""Exception classes the handler looks at; anything of them that is no fault stays a 500."""
_DB_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite", "sqlite3", "boss.database")
_attempt: ContextVar[Attempt | None] = ContextVar("boss_db_attempt", default=None)
logger = logging.getLogger("boss.database")


class Attempt:
    """One run of a request: may it be repeated, did it send a COMMIT, is a retry pending."""

    __slots__ = ("commits", "confirmed", "retry_pending", "retryable", "safe", "started")

    def __init__(self, *, safe: bool, retryable: bool) -> None:
        self.safe = safe
        """The method does not change anything (GET, HEAD, OPTIONS)."""
        self.retryable = retryable
        """This is the first run (a retry is never retried)."""
        self.commits = 0
        """COMMITs about to be sent in this run (the engine's ``commit`` event)."""
        self.confirmed = 0
        """COMMITs known to have succeeded (``Database.begin`` blocks that ended cleanly)."""
        self.retry_pending = False
        """The handler decided to repeat the request; its 503 must not reach the client."""
        self.started = False
        """The answer has started: too late to repeat anything."""

    def may_retry(self, exc: BaseException) -> bool:
        """Whether repeating the request after ``exc`` cannot write anything twice.

        Safe when the method is, or when no COMMIT of this request may have taken
        effect: none was sent, or ``Database.begin`` found out that the one that lost its
        connection did not commit (``commit_not_applied``).
        """
        if not self.retryable or self.started:
            return False
        return self.safe or self.commits == 0


def current_attempt() -> Attempt | None:
    """The running request's attempt (``None`` outside a request, e.g. background tasks)."""
    return _attempt.get()


def _note_commit(conn: Connection) -> None:
    attempt = _attempt.get()
    if attempt is not None:
        attempt.commits += 1


def commit_not_applied() -> None:
    """Record that the running request's last COMMIT provably did not commit (it may retry)."""
    attempt = _attempt.get()
    if attempt is not None and attempt.commits > 0:
        attempt.commits -= 1


def confirm_commit() -> None:
    """Record that a COMMIT of the running request succeeded (``Database.begin`` calls it)."""
    attempt = _attempt.get()
    if attempt is not None:
        attempt.confirmed += 1


def track_commits(engine: Engine) -> None:
    """Mark the running attempt whenever ``engine`` is about to send a COMMIT."""
    if not event.contains(engine, "commit", _note_commit):
        event.listen(engine, "commit", _note_commit)


def _from_database_code(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside the database stack (for bare ``OSError``s)."""
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DB_MODULES):
            return True
        tb = tb.tb_next
    return False


class DatabaseFaultHandler:
    """Litestar exception handler: 503 problem for connection faults, the 500 handler otherwise."""

    __slots__ = ("_errors", "_fallback", "_faults")

    def __init__(
        self,
        fallback: Callable[[Request[Any, Any, Any], Exception], Response[Any]],
        *,
        errors: Counter | None = None,
        faults: Counter | None = None,
    ) -> None:
        self._fallback = fallback
        self._errors = errors
        self._faults = faults

    def __call__(self, request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        """Answer ``exc``: 503 (or a silent retry) for a fault, the fallback for anything else."""
        kind = fault_kind(exc)
        if kind is None or (isinstance(exc, OSError) and not _from_database_code(exc)):
            return self._fallback(request, exc)
        attempt = _attempt.get()
        retry = attempt is not None and attempt.may_retry(exc)
        if self._faults is not None:
            self._faults.labels(kind, "retried" if retry else "rejected").inc()
        reason = type(getattr(exc, "orig", None) or exc).__name__
        if retry:
            assert attempt is not None
            attempt.retry_pending = True
            logger.info(
                "database connection lost (%s) on %s %s: retrying once on a fresh connection",
                reason,
                request.method,
                request.scope.get("path_template") or "<unmatched>",
            )
        else:
            if self._errors is not None:
                self._errors.labels("DatabaseUnavailable", "error").inc()
            logger.warning(
                "database %s (%s) on %s %s: answered 503",
                "connection lost" if kind == "disconnect" else "unavailable",
                reason,
                request.method,
                request.scope.get("path_template") or "<unmatched>",
            )
        detail = (
            "The database connection was lost; the request may be repeated."
            if kind == "disconnect"
            else "The database is not reachable right now."
        )
        return problem_response(
            503,
            detail,
            kind=DATABASE_UNAVAILABLE_KIND,
            headers={"Retry-After": str(RETRY_AFTER)},
        )

    def mapping(self) -> dict[Any, Any]:
        """The ``exception_handlers`` entries (more specific than ``Exception``)."""
        return dict.fromkeys(EXCEPTION_TYPES, self)


class DatabaseRetryMiddleware:
    """Runs each HTTP request in an ``Attempt`` and repeats it once when the handler asks.

    Innermost app middleware: authentication and rate limiting run once per request; the
    body messages are recorded so the retry reads the same body.
    """

    __slots__ = ("app", "database", "ready_wait")

    def __init__(
        self, app: ASGIApp, *, database: Database | None = None, ready_wait: float | None = None
    ) -> None:
        self.app = app
        self.database = database
        self.ready_wait = READY_WAIT if ready_wait is None else ready_wait
        """Seconds a retry waits for the database (``READY_WAIT`` when the app was built)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        seen: list[ReceiveMessage] = []

        async def recording_receive() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request":
                seen.append(message)
            return message

        safe = scope.get("method", "GET") in SAFE_METHODS
        first = Attempt(safe=safe, retryable=True)
        token = _attempt.set(first)
        try:
            await self.app(scope, recording_receive, self._guard(first, send))
            if not first.retry_pending:
                return
            replay = list(seen)

            async def replaying_receive() -> ReceiveMessage:
                if replay:
                    return replay.pop(0)
                return await receive()

            if self.database is not None:  # a restarting server: wait (bounded) until it answers
                await self.database.wait_ready(self.ready_wait)
            second = Attempt(safe=safe, retryable=False)
            _attempt.set(second)
            await self.app(scope, replaying_receive, self._guard(second, send))
        finally:
            _attempt.reset(token)

    @staticmethod
    def _guard(attempt: Attempt, send: Send) -> Send:
        """``send`` that drops the answer of an attempt that will be repeated."""

        async def guarded(message: Message) -> None:
            if attempt.retry_pending:
                return
            if message["type"] == "http.response.start":
                attempt.started = True
            await send(message)

        return guarded
