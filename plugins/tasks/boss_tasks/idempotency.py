"""``Idempotency-Key`` for creates: a retry within 24 hours gets the first answer, not a twin.

Keys live in the database (``tasks_idempotency``), so they hold across workers and
instances. The first request claims its key (a ``pending`` row, committed at once); the
task and the stored answer are then committed in ONE transaction, so a crash can never
leave a task without its stored answer. A retry with the same key and body replays the
answer (``Idempotent-Replayed: true``); with another body it is refused (422); while the
first is still running a duplicate waits up to ``WAIT_SECONDS`` and then gets 409. A
failed request releases its key, so the client can retry it. A ``pending`` claim older
than ``STALE_AFTER`` (its worker died) is taken over.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boss.auth import ApiKey
from boss.database import Database
from boss.errors import Problem
from boss_tasks.models import Task
from boss_tasks.tables import idempotency

__all__ = (
    "HEADER",
    "TTL",
    "IdempotencyInProgress",
    "IdempotencyKey",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "Within",
    "idempotent_create",
)

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
"""How long a key and its answer are kept."""
STALE_AFTER = timedelta(seconds=60)
"""A ``pending`` claim this old belongs to a request that died; a retry takes it over."""
WAIT_SECONDS = 5.0
"""How long a concurrent duplicate waits for the first request before answering 409."""
POLL_SECONDS = 0.05
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
KEY_RE = re.compile(KEY_PATTERN)
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        pattern=KEY_PATTERN,
        description="A retry with the same key and body within 24 h returns the first answer",
    ),
]
"""The documented ``Idempotency-Key`` header parameter of every idempotent create route."""
Within = Callable[[AsyncConnection, Task], Awaitable[None]]
"""Runs inside the create transaction, after the task row is written."""


def _now() -> datetime:
    return datetime.now(UTC)


class IdempotencyKeyReused(Problem):
    """The key was used for a request with another body (422, on any route)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            422,
            f"Idempotency-Key {key!r} was already used for a request with a different body; "
            "use a new key for a new request",
            kind="idempotency-key-reused",
        )
        self.key = key


class IdempotencyInProgress(Problem):
    """The first request with this key is still running (409, on any route)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            409,
            f"a request with Idempotency-Key {key!r} is still in progress; retry shortly",
            kind="idempotency-in-progress",
            headers={"Retry-After": "1"},
        )
        self.key = key


class StoredAnswer(msgspec.Struct, kw_only=True):
    """The answer given to the first request with a key."""

    status_code: int
    headers: dict[str, str]
    body: bytes


class IdempotencyStore:
    """Claims, completes, replays and releases keys in ``tasks_idempotency``."""

    __slots__ = ("_db", "wait_seconds")

    def __init__(self, database: Database, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self._db = database
        self.wait_seconds = wait_seconds

    @staticmethod
    def _pk(scope: str, actor: str, key: str) -> Any:
        c = idempotency.c
        return (c.scope == scope) & (c.actor == actor[:100]) & (c.key == key)

    async def claim(
        self, scope: str, actor: str, key: str, fingerprint: str
    ) -> StoredAnswer | None:
        """``None`` when this request owns the key now; the stored answer for a retry.

        Raises ``IdempotencyKeyReused`` (other body) or ``IdempotencyInProgress`` (the first
        request did not finish within ``wait_seconds``).
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.wait_seconds
        while True:
            now = _now()
            try:
                async with self._db.begin() as conn:
                    c = idempotency.c
                    await conn.execute(
                        delete(idempotency).where(
                            self._pk(scope, actor, key),
                            or_(
                                c.expires_at < now,
                                (c.state == "pending") & (c.created_at < now - STALE_AFTER),
                            ),
                        )
                    )
                    row = (
                        await conn.execute(select(idempotency).where(self._pk(scope, actor, key)))
                    ).first()
                    if row is None:
                        await conn.execute(
                            insert(idempotency).values(
                                scope=scope,
                                actor=actor[:100],
                                key=key,
                                fingerprint=fingerprint,
                                state="pending",
                                created_at=now,
                                expires_at=now + TTL,
                            )
                        )
                        return None
            except IntegrityError:  # a concurrent duplicate claimed it first: look again
                continue
            if row.fingerprint != fingerprint:
                raise IdempotencyKeyReused(key)
            if row.state == "done":
                return StoredAnswer(
                    status_code=row.status_code, headers=dict(row.headers or {}), body=row.body
                )
            if loop.time() >= give_up:
                raise IdempotencyInProgress(key)
            await asyncio.sleep(POLL_SECONDS)

    async def complete(
        self, conn: AsyncConnection, scope: str, actor: str, key: str, answer: StoredAnswer
    ) -> None:
        """Store the answer, inside the caller's transaction (the one that wrote the task)."""
        await conn.execute(
            update(idempotency)
            .where(self._pk(scope, actor, key))
            .values(
                state="done",
                status_code=answer.status_code,
                headers=answer.headers,
                body=answer.body,
            )
        )

    async def release(self, scope: str, actor: str, key: str) -> None:
        """Forget a claim whose request failed, so the client may retry with the same key."""
        async with self._db.begin() as conn:
            await conn.execute(
                delete(idempotency).where(
                    self._pk(scope, actor, key), idempotency.c.state == "pending"
                )
            )

    async def purge(self) -> int:
        """Delete expired keys; returns how many."""
        async with self._db.begin() as conn:
            result = await conn.execute(
                delete(idempotency).where(idempotency.c.expires_at < _now())
            )
        return int(result.rowcount or 0)


def _caller(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    return user.name if isinstance(user, ApiKey) else "anonymous"


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The request's ``Idempotency-Key`` (``InvalidTaskInput`` when malformed)."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if KEY_RE.match(key) is None:
        message = "must be 1-255 visible ASCII characters (a UUID is ideal)"
        raise ValidationException(
            f"Validation failed for {HEADER}: {message}",
            extra=[{"field": HEADER, "source": "header", "message": message}],
        )
    return key


def _answer(response: Response[Any]) -> StoredAnswer:
    content = response.content
    body = content if isinstance(content, bytes) else msgspec.json.encode(content)
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("location", "etag")}
    return StoredAnswer(status_code=response.status_code or 200, headers=headers, body=body)


async def idempotent_create(
    store: IdempotencyStore | None,
    request: Request[Any, Any, Any],
    scope: str,
    create: Callable[[Within | None], Awaitable[Task]],
    respond: Callable[[Task], Response[Any]],
) -> Response[Any]:
    """Run ``create`` at most once per ``Idempotency-Key`` (plain ``create`` without one).

    ``create`` gets a ``Within`` to pass to ``TaskService.create``; ``respond`` turns the
    created task into the answer, which is stored with the task in one transaction.
    """
    key = idempotency_key(request)
    if key is None or store is None:
        return respond(await create(None))
    actor = _caller(request)
    canonical = msgspec.json.encode(msgspec.json.decode(await request.body()), order="sorted")
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical
    ).hexdigest()
    stored = await store.claim(scope, actor, key, fingerprint)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, HEADER: key, "Idempotent-Replayed": "true"},
            media_type="application/json",
        )

    async def within(conn: AsyncConnection, task: Task) -> None:
        await store.complete(conn, scope, actor, key, _answer(respond(task)))

    try:
        task = await create(within)
    except BaseException:
        await asyncio.shield(store.release(scope, actor, key))
        raise
    response = respond(task)
    response.headers[HEADER] = key
    return response
