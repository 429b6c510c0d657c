"""The tasks plugin's data shapes: requests (strict: unknown fields and bad lengths are
rejected with the field named) and answers.

``TaskCreate`` and ``Task`` are the public contract other plugins (the AI intake) use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from boss_tasks.workflow import Priority, Status

__all__ = (
    "ASSIGNEE_MAX",
    "DESCRIPTION_MAX",
    "NOTE_MAX",
    "TITLE_MAX",
    "VERSION_MAX",
    "AuditEntry",
    "AuditTrail",
    "StatusChange",
    "Task",
    "TaskCreate",
    "TaskPage",
    "TaskUpdate",
)

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
ASSIGNEE_MAX = 100
NOTE_MAX = 1000

Title = Annotated[str, Meta(min_length=1, max_length=TITLE_MAX, description="Short summary")]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX)]
Assignee = Annotated[
    str, Meta(min_length=1, max_length=ASSIGNEE_MAX, description="Who works on it")
]
Deadline = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a UTC offset")]
VERSION_MAX = 2**31 - 1
Version = Annotated[
    int, Meta(ge=1, le=VERSION_MAX, description="The version you last saw (the ETag's number)")
]
Note = Annotated[str, Meta(max_length=NOTE_MAX)]


class TaskCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new task: only ``title`` is required."""

    title: Title
    description: Description = ""
    assignee: Assignee | None = None
    priority: Priority = "medium"
    deadline: Deadline | None = None


class TaskUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update: fields left out keep their value; ``null`` clears an optional one.

    ``version`` (or an ``If-Match`` header) must name the version the client last saw.
    """

    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    assignee: Assignee | UnsetType | None = UNSET
    priority: Priority | UnsetType = UNSET
    deadline: Deadline | UnsetType | None = UNSET
    version: Version | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (besides ``version``), by name."""
        out: dict[str, Any] = {}
        for name in ("title", "description", "assignee", "priority", "deadline"):
            value = getattr(self, name)
            if value is not UNSET:
                out[name] = value
        return out


class StatusChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Move a task to ``status`` (allowed by the state machine), with an optional note."""

    status: Status
    note: Note = ""
    version: Version | UnsetType = UNSET


class Task(msgspec.Struct, kw_only=True):
    """A task as stored; ``version`` increases with every change."""

    id: str
    title: str
    description: str
    assignee: str | None
    priority: Priority
    deadline: datetime | None
    status: Status
    created_at: datetime
    updated_at: datetime
    version: int


class TaskPage(msgspec.Struct, kw_only=True):
    """One page of a task listing in the requested order, with the number of matching tasks."""

    items: list[Task]
    total: int
    """How many tasks match the filters (over every page)."""
    limit: int
    offset: int
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class AuditEntry(msgspec.Struct, kw_only=True):
    """One change of a task: who, when, which action, and each field's old and new value."""

    at: datetime
    actor: str
    action: str
    """``created``, ``updated``, ``status_changed`` or ``deleted``."""
    changes: dict[str, list[Any]]
    """``{field: [old, new]}`` (old is ``null`` on creation)."""
    note: str | None = None


class AuditTrail(msgspec.Struct, kw_only=True):
    """A task's audit entries, oldest first."""

    task_id: str
    entries: list[AuditEntry]
