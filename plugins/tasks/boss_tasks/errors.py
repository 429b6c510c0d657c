"""Errors of the task service; the HTTP layer maps them to problem answers."""

from __future__ import annotations

__all__ = (
    "InvalidTaskInput",
    "InvalidTransition",
    "TaskError",
    "TaskNotFound",
    "VersionConflict",
)


class TaskError(Exception):
    """Base class: a task operation was refused and nothing was written."""


class TaskNotFound(TaskError):
    """No task has this id."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} does not exist")
        self.task_id = task_id


class VersionConflict(TaskError):
    """The client's version is stale: someone else changed the task first."""

    def __init__(self, task_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"task {task_id} is at version {current}, not {expected}: "
            "reload it and apply your change again"
        )
        self.task_id = task_id
        self.expected = expected
        self.current = current


class InvalidTransition(TaskError):
    """The state machine does not allow this status change."""

    def __init__(self, task_id: str, old: str, new: str, allowed: list[str]) -> None:
        target = ", ".join(allowed) or "nothing"
        super().__init__(
            f"task {task_id} cannot go from {old} to {new} (from {old} it can go to: {target})"
        )
        self.task_id = task_id
        self.old = old
        self.new = new
        self.allowed = allowed


class InvalidTaskInput(TaskError):
    """A value the schema cannot express as a constraint is wrong; names the field."""

    def __init__(self, field: str, message: str, *, source: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.source = source
