"""``TaskService``: the task workflow, used by the HTTP API and by other plugins alike.

Every write and its audit entry commit in one transaction; updates are optimistic (the
caller names the version it saw, a stale one changes nothing). After the commit the
cache is invalidated, the metrics move and the domain events go out:
``task.created`` (task, actor), ``task.updated`` (task, actor, changes) and
``task.status_changed`` (task, actor, old_status, new_status, note).
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from boss.cache import Cache
from boss.database import Database
from boss_tasks.caching import TaskCache
from boss_tasks.errors import (
    InvalidTaskInput,
    InvalidTransition,
    TaskNotFound,
    VersionConflict,
)
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

__all__ = (
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


def _check_text(field: str, value: str, *, maximum: int, required: bool) -> str:
    if required and not value.strip():
        raise InvalidTaskInput(field, "must not be empty or only whitespace")
    if len(value) > maximum:
        raise InvalidTaskInput(field, f"must be at most {maximum} characters")
    return value.strip() if required else value


def _check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise task fields (also for callers that bypass the HTTP schema)."""
    out = dict(values)
    if "title" in out:
        out["title"] = _check_text("title", out["title"], maximum=TITLE_MAX, required=True)
    if "description" in out:
        _check_text("description", out["description"], maximum=DESCRIPTION_MAX, required=False)
    if out.get("assignee") is not None:
        out["assignee"] = _check_text(
            "assignee", out["assignee"], maximum=ASSIGNEE_MAX, required=True
        )
    if "priority" in out and out["priority"] not in PRIORITIES:
        raise InvalidTaskInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    deadline = out.get("deadline")
    if deadline is not None and (not isinstance(deadline, datetime) or deadline.tzinfo is None):
        raise InvalidTaskInput("deadline", "must be a date-time with a UTC offset")
    if deadline is not None:
        out["deadline"] = deadline.astimezone(UTC)
    return out


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

    async def create(self, data: TaskCreate, *, actor: str) -> Task:
        """Store a new ``pending`` task and its ``created`` audit entry; return the task."""
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
                .values(**fields, status="pending", created_at=now, updated_at=now, version=1)
                .returning(*tasks.c)
            )
            task = _task(result.one())
            changes = {name: [None, _json(getattr(task, name))] for name in (*fields, "status")}
            await self._audit(conn, task, actor, "created", changes, None, now)
            await self._db.outbox.stage(conn, "task.created", task=task, actor=actor)
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
            values = {name: sent[name] for name in changes}
            task = await self._write(conn, task_id, number, expected, values, now)
            await self._audit(conn, task, actor, "updated", changes, None, now)
            await self._db.outbox.stage(
                conn, "task.updated", task=task, actor=actor, changes=changes
            )
        await self._cache.invalidate(task.id)
        self._publish("task.updated", task=task, actor=actor, changes=changes)
        return task

    async def change_status(
        self, task_id: str, status: str, *, actor: str, version: int, note: str = ""
    ) -> Task:
        """Move the task to ``status`` if the state machine allows it and ``version`` is current."""
        number = parse_task_id(task_id)
        if status not in STATUSES:
            raise InvalidTaskInput("status", f"must be one of {', '.join(STATUSES)}")
        _check_text("note", note, maximum=NOTE_MAX, required=False)
        now = _now()
        async with self._db.begin() as conn:
            row = await self._locked(conn, task_id, number, version)
            old = row.status
            if not can_transition(old, status):
                raise InvalidTransition(task_id, old, status, allowed_next(old))
            task = await self._write(conn, task_id, number, version, {"status": status}, now)
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

    async def _locked(
        self, conn: AsyncConnection, task_id: str, number: int, expected: int
    ) -> Row[Any]:
        """The task row, locked for this transaction, if it exists at ``expected``."""
        query = select(tasks).where(tasks.c.number == number).with_for_update()
        row = (await conn.execute(query)).first()
        if row is None:
            raise TaskNotFound(task_id)
        if row.version != expected:
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
            row = (await conn.execute(select(tasks).where(tasks.c.number == number))).first()
        if row is None:
            raise TaskNotFound(task_id)
        task = _task(row)
        if key is not None:
            await self._cache.put_task(key, task)
        return task

    async def list(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> TaskPage:
        """Tasks matching every given filter, newest first, with the total count."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidTaskInput(
                "limit", f"must be between 1 and {MAX_PAGE_SIZE}", source="query"
            )
        if offset < 0:
            raise InvalidTaskInput("offset", "must not be negative", source="query")
        filters = {
            "status": status,
            "assignee": assignee,
            "priority": priority,
            "limit": limit,
            "offset": offset,
        }
        key = await self._cache.list_key(filters)
        if key is not None:
            cached = await self._cache.get_page(key)
            if cached is not None:
                return cached
        conditions = []
        if status is not None:
            conditions.append(tasks.c.status == status)
        if assignee is not None:
            conditions.append(tasks.c.assignee == assignee)
        if priority is not None:
            conditions.append(tasks.c.priority == priority)
        async with self._db.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(tasks).where(*conditions))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(tasks)
                    .where(*conditions)
                    .order_by(tasks.c.number.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        page = TaskPage(items=[_task(r) for r in rows], total=total, limit=limit, offset=offset)
        if key is not None:
            await self._cache.put_page(key, page)
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
                await conn.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status))
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
