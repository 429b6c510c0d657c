"""``TaskService``: the task workflow, used by the HTTP API and by other plugins alike.

Every write and its audit entry commit in one transaction; updates are optimistic (the
caller names the version it saw, a stale one changes nothing). After the commit the
cache is invalidated, the metrics move and the domain events go out:
``task.created`` (task, actor), ``task.updated`` (task, actor, changes) and
``task.status_changed`` (task, actor, old_status, new_status, note) and ``task.deleted``
(task, actor). A deleted task keeps its row (``deleted_at``), hidden from every read.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from boss.cache import Cache
from boss.database import Database
from boss.validation import control_character
from boss_tasks.caching import TaskCache
from boss_tasks.errors import (
    InvalidTaskInput,
    InvalidTransition,
    TaskNotFound,
    VersionConflict,
)
from boss_tasks.idempotency import Within
from boss_tasks.listing import SORTS, TaskQuery, decode_cursor, encode_cursor, priority_rank
from boss_tasks.metrics import TaskMetrics
from boss_tasks.models import (
    ASSIGNEE_MAX,
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    AuditEntry,
    Task,
    TaskCreate,
    TaskPage,
    TaskUpdate,
)
from boss_tasks.tables import audit, tasks
from boss_tasks.workflow import PRIORITIES, STATUSES, allowed_next, can_transition

SORT_NAMES = SORTS

__all__ = (
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "Emit",
    "Task",
    "TaskCreate",
    "TaskPage",
    "TaskService",
    "TaskUpdate",
    "format_task_id",
    "parse_task_id",
)

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000
"""Largest ``offset`` accepted; deeper pages are reached with ``cursor``."""
TASK_ID_RE = re.compile(r"^TASK-([1-9][0-9]{0,17})$")
Emit = Callable[..., None]
"""``emit(event_id, **kwargs)``: publishes a domain event (Litestar's ``app.emit``)."""
logger = logging.getLogger("boss.tasks")


def format_task_id(number: int) -> str:
    """``TASK-<n>`` for task number ``n``."""
    return f"TASK-{number}"


def parse_task_id(task_id: str, *, field: str = "task_id") -> int:
    """The number in ``TASK-<n>``; raises ``InvalidTaskInput`` naming ``field`` otherwise."""
    match = TASK_ID_RE.match(task_id)
    if match is None:
        raise InvalidTaskInput(
            field, "must look like TASK-<n> (n a positive number)", source="path"
        )
    return int(match.group(1))


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def text_problem(value: str, *, maximum: int, required: bool, multiline: bool) -> str | None:
    """What is wrong with a text value (blank, too long, control characters), or ``None``."""
    if required and not value.strip():
        return "must not be empty or only whitespace"
    if len(value) > maximum:
        return f"must be at most {maximum} characters"
    return control_character(value, multiline=multiline)


def deadline_problem(value: datetime) -> str | None:
    """What is wrong with a deadline (no UTC offset, outside what UTC can hold), or ``None``."""
    if value.tzinfo is None:
        return "must be a date-time with a UTC offset"
    try:
        value.astimezone(UTC)
    except OverflowError:
        return "is outside the range of dates that can be stored (years 1-9999 in UTC)"
    return None


def _check_text(
    field: str, value: str, *, maximum: int, required: bool, multiline: bool = False
) -> str:
    problem = text_problem(value, maximum=maximum, required=required, multiline=multiline)
    if problem:
        raise InvalidTaskInput(field, problem)
    return value.strip() if required else value


def _check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise task fields (also for callers that bypass the HTTP schema)."""
    out = dict(values)
    if "title" in out:
        out["title"] = _check_text("title", out["title"], maximum=TITLE_MAX, required=True)
    if "description" in out:
        _check_text(
            "description",
            out["description"],
            maximum=DESCRIPTION_MAX,
            required=False,
            multiline=True,
        )
    if out.get("assignee") is not None:
        out["assignee"] = _check_text(
            "assignee", out["assignee"], maximum=ASSIGNEE_MAX, required=True
        )
    if "priority" in out and out["priority"] not in PRIORITIES:
        raise InvalidTaskInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    deadline = out.get("deadline")
    if deadline is not None:
        if not isinstance(deadline, datetime):
            raise InvalidTaskInput("deadline", "must be a date-time with a UTC offset")
        problem = deadline_problem(deadline)
        if problem:
            raise InvalidTaskInput("deadline", problem)
        out["deadline"] = deadline.astimezone(UTC)
    return out


def _stored(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for task fields (``priority`` also sets its sort rank)."""
    values = dict(fields)
    if "priority" in values:
        values["priority_rank"] = priority_rank(values["priority"])
    return values


def _task(row: Row[Any]) -> Task:
    return Task(
        id=format_task_id(row.number),
        title=row.title,
        description=row.description,
        assignee=row.assignee,
        priority=row.priority,
        deadline=row.deadline,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


class TaskService:
    """Create, read, change and audit tasks on the shared database."""

    __slots__ = ("_cache", "_db", "_emit", "_metrics")

    def __init__(
        self,
        database: Database,
        *,
        metrics: TaskMetrics | None = None,
        cache: Cache | None = None,
        emit: Emit | None = None,
    ) -> None:
        self._db = database
        self._metrics = metrics
        self._cache = TaskCache(cache)
        self._emit = emit

    # -- writes ------------------------------------------------------------------------

    async def create(self, data: TaskCreate, *, actor: str, within: Within | None = None) -> Task:
        """Store a new ``pending`` task and its ``created`` audit entry; return the task.

        ``within`` runs in the same transaction after the task is written (the stored answer
        of an ``Idempotency-Key`` is committed together with the task it describes).
        """
        fields = _check_fields(
            {
                "title": data.title,
                "description": data.description,
                "assignee": data.assignee,
                "priority": data.priority,
                "deadline": data.deadline,
            }
        )
        now = _now()
        async with self._db.begin() as conn:
            result = await conn.execute(
                insert(tasks)
                .values(
                    **_stored(fields), status="pending", created_at=now, updated_at=now, version=1
                )
                .returning(*tasks.c)
            )
            task = _task(result.one())
            changes = {name: [None, _json(getattr(task, name))] for name in (*fields, "status")}
            await self._audit(conn, task, actor, "created", changes, None, now)
            await self._db.outbox.stage(conn, "task.created", task=task, actor=actor)
            if within is not None:
                await within(conn, task)
        await self._cache.invalidate(task.id)
        if self._metrics is not None:
            self._metrics.created(task.assignee, task.priority)
        self._publish("task.created", task=task, actor=actor)
        return task

    async def update(
        self, task_id: str, data: TaskUpdate, *, actor: str, version: int | None = None
    ) -> Task:
        """Apply the fields ``data`` carries if the task is still at ``version``.

        ``version`` defaults to ``data.version``. Returns the task unchanged (same version)
        when every sent value equals the stored one.
        """
        expected = version if version is not None else data.version
        if not isinstance(expected, int):
            raise InvalidTaskInput("version", "required: send 'version' or an If-Match header")
        number = parse_task_id(task_id)
        sent = _check_fields(data.changes())
        if not sent:
            raise InvalidTaskInput(
                "body", "name at least one of title, description, assignee, priority, deadline"
            )
        now = _now()
        async with self._db.begin() as conn:
            row = await self._locked(conn, task_id, number, expected)
            current = _task(row)
            changes = {
                name: [_json(getattr(current, name)), _json(value)]
                for name, value in sent.items()
                if getattr(current, name) != value
            }
            if not changes:
                return current
            values = _stored({name: sent[name] for name in changes})
            task = await self._write(conn, task_id, number, expected, values, now)
            await self._audit(conn, task, actor, "updated", changes, None, now)
            await self._db.outbox.stage(
                conn, "task.updated", task=task, actor=actor, changes=changes
            )
        await self._cache.invalidate(task.id)
        self._publish("task.updated", task=task, actor=actor, changes=changes)
        return task

    async def change_status(
        self, task_id: str, status: str, *, actor: str, version: int | None = None, note: str = ""
    ) -> Task:
        """Move the task to ``status`` if the state machine allows it.

        A status change is a command: ``version`` is optional, but a given one must be current.
        """
        number = parse_task_id(task_id)
        if status not in STATUSES:
            raise InvalidTaskInput("status", f"must be one of {', '.join(STATUSES)}")
        _check_text("note", note, maximum=NOTE_MAX, required=False, multiline=True)
        now = _now()
        async with self._db.begin() as conn:
            row = await self._locked(conn, task_id, number, version)
            old = row.status
            if not can_transition(old, status):
                raise InvalidTransition(task_id, old, status, allowed_next(old))
            task = await self._write(conn, task_id, number, row.version, {"status": status}, now)
            changes = {"status": [old, status]}
            await self._audit(conn, task, actor, "status_changed", changes, note or None, now)
            await self._db.outbox.stage(
                conn, "task.status_changed", task=task, actor=actor, old_status=old,
                new_status=status, note=note,
            )  # fmt: skip
        await self._cache.invalidate(task.id)
        if status == "completed" and self._metrics is not None:
            self._metrics.completed(task.assignee)
        self._publish(
            "task.status_changed",
            task=task,
            actor=actor,
            old_status=old,
            new_status=status,
            note=note,
        )
        return task

    async def delete(self, task_id: str, *, actor: str, version: int | None = None) -> Task:
        """Hide the task from every read and list; the audit trail keeps a ``deleted`` entry.

        ``version`` is optional; a given one must be current. Returns the task as it was.
        """
        number = parse_task_id(task_id)
        now = _now()
        async with self._db.begin() as conn:
            row = await self._locked(conn, task_id, number, version)
            await conn.execute(
                update(tasks)
                .where(tasks.c.number == number)
                .values(deleted_at=now, updated_at=now, version=row.version + 1)
            )
            task = _task(row)
            changes = {"deleted": [False, True]}
            await self._audit(conn, task, actor, "deleted", changes, None, now)
            await self._db.outbox.stage(conn, "task.deleted", task=task, actor=actor)
        await self._cache.invalidate(task.id)
        await self.refresh_status_metrics()
        self._publish("task.deleted", task=task, actor=actor)
        return task

    async def _locked(
        self, conn: AsyncConnection, task_id: str, number: int, expected: int | None
    ) -> Row[Any]:
        """The task row, locked for this transaction, if it exists (at ``expected``, if given)."""
        query = (
            select(tasks)
            .where(tasks.c.number == number, tasks.c.deleted_at.is_(None))
            .with_for_update()
        )
        row = (await conn.execute(query)).first()
        if row is None:
            raise TaskNotFound(task_id)
        if expected is not None and row.version != expected:
            raise VersionConflict(task_id, expected, row.version)
        return row

    async def _write(
        self,
        conn: AsyncConnection,
        task_id: str,
        number: int,
        expected: int,
        values: dict[str, Any],
        now: datetime,
    ) -> Task:
        """Update the row only if it is still at ``expected`` (belt and braces to the lock)."""
        result = await conn.execute(
            update(tasks)
            .where(tasks.c.number == number, tasks.c.version == expected)
            .values(**values, updated_at=now, version=expected + 1)
            .returning(*tasks.c)
        )
        row = result.first()
        if row is None:
            raise VersionConflict(task_id, expected, expected + 1)
        return _task(row)

    async def _audit(
        self,
        conn: AsyncConnection,
        task: Task,
        actor: str,
        action: str,
        changes: dict[str, list[Any]],
        note: str | None,
        now: datetime,
    ) -> None:
        await conn.execute(
            insert(audit).values(
                task_number=parse_task_id(task.id),
                at=now,
                actor=actor[:100],
                action=action,
                changes=changes,
                note=note,
            )
        )

    def _publish(self, event_id: str, **kwargs: Any) -> None:
        if self._emit is None:
            return
        try:
            self._emit(event_id, **kwargs)
        except Exception:  # a broken listener setup must not fail a committed write
            logger.exception("could not publish %s", event_id)

    # -- reads -------------------------------------------------------------------------

    async def get(self, task_id: str) -> Task:
        """The task with ``task_id``; raises ``TaskNotFound``."""
        number = parse_task_id(task_id)
        key = await self._cache.item_key(task_id)  # before the read: see boss_tasks.caching
        if key is not None:
            cached = await self._cache.get_task(key)
            if cached is not None:
                return cached
        async with self._db.connect() as conn:
            query = select(tasks).where(tasks.c.number == number, tasks.c.deleted_at.is_(None))
            row = (await conn.execute(query)).first()
        if row is None:
            raise TaskNotFound(task_id)
        task = _task(row)
        if key is not None:
            await self._cache.put_task(key, task)
        return task

    async def list(
        self,
        query: TaskQuery | None = None,
        *,
        status: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        limit: int = 20,
        offset: int = 0,
        cursor: str | None = None,
    ) -> TaskPage:
        """Tasks matching ``query`` in its order, with the total count and the next cursor.

        ``status``, ``assignee`` and ``priority`` are shorthands for a one-value ``query``.
        ``cursor`` (from a previous page's ``next_cursor``) continues after that page.
        """
        if query is None:
            query = TaskQuery(
                status=(status,) if status else (),
                assignee=(assignee,) if assignee else (),
                priority=(priority,) if priority else (),
            )
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidTaskInput(
                "limit", f"must be between 1 and {MAX_PAGE_SIZE}", source="query"
            )
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidTaskInput("offset", f"must be between 0 and {MAX_OFFSET}", source="query")
        if query.sort not in SORT_NAMES:
            raise InvalidTaskInput(
                "sort", f"must be one of {', '.join(SORT_NAMES)}", source="query"
            )
        key_after = decode_cursor(query, cursor) if cursor else None
        if key_after is not None and offset:
            raise InvalidTaskInput("offset", "cannot be combined with cursor", source="query")
        now = _now()
        filters = {
            "query": query,
            "limit": limit,
            "offset": offset,
            "cursor": cursor,
        }
        # An overdue filter depends on the clock, not only on writes: never cached.
        cache_key = None if query.overdue is not None else await self._cache.list_key(filters)
        if cache_key is not None:
            cached = await self._cache.get_page(cache_key)
            if cached is not None:
                return cached
        conditions = query.conditions(now)
        page_conditions = [*conditions]
        if key_after is not None:
            page_conditions.append(query.after(key_after))
        async with self._db.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(tasks).where(*conditions))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(tasks)
                    .where(and_(*page_conditions))
                    .order_by(*query.order_by())
                    .limit(limit + 1)
                    .offset(offset)
                )
            ).all()
        next_cursor = (
            encode_cursor(query, query.key_of(rows[limit - 1])) if len(rows) > limit else None
        )
        page = TaskPage(
            items=[_task(r) for r in rows[:limit]],
            total=total,
            limit=limit,
            offset=offset,
            next_cursor=next_cursor,
        )
        if cache_key is not None:
            await self._cache.put_page(cache_key, page)
        return page

    async def history(self, task_id: str) -> builtins.list[AuditEntry]:
        """The task's audit entries, oldest first; raises ``TaskNotFound``."""
        number = parse_task_id(task_id)
        async with self._db.connect() as conn:
            exists = (
                await conn.execute(select(tasks.c.number).where(tasks.c.number == number))
            ).first()
            if exists is None:
                raise TaskNotFound(task_id)
            rows = (
                await conn.execute(
                    select(audit).where(audit.c.task_number == number).order_by(audit.c.id)
                )
            ).all()
        return [
            AuditEntry(
                at=r.at,
                actor=r.actor,
                action=r.action,
                changes={k: list(v) for k, v in r.changes.items()},
                note=r.note,
            )
            for r in rows
        ]

    async def status_counts(self) -> dict[str, int]:
        """How many tasks are in each status, database-wide (zero included)."""
        async with self._db.connect() as conn:
            rows = (
                await conn.execute(
                    select(tasks.c.status, func.count())
                    .where(tasks.c.deleted_at.is_(None))
                    .group_by(tasks.c.status)
                )
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: count for status, count in rows})
        return counts

    async def refresh_status_metrics(self) -> dict[str, int]:
        """Re-read the status counts and set ``tasks_by_status``."""
        counts = await self.status_counts()
        if self._metrics is not None:
            self._metrics.set_status_counts(counts)
        return counts
