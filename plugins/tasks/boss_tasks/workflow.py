"""The task status state machine: which status may follow which.

``completed`` and ``cancelled`` are terminal; the only way out is an explicit reopen to
``in_progress``. Staying in the same status is not a transition.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = (
    "PRIORITIES",
    "STATUSES",
    "TERMINAL",
    "TRANSITIONS",
    "Priority",
    "Status",
    "allowed_next",
    "can_transition",
)

Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal["pending", "in_progress", "blocked", "completed", "cancelled"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
STATUSES: tuple[str, ...] = get_args(Status)
TERMINAL = frozenset({"completed", "cancelled"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "blocked", "cancelled"}),
    "in_progress": frozenset({"pending", "blocked", "completed", "cancelled"}),
    "blocked": frozenset({"pending", "in_progress", "cancelled"}),
    "completed": frozenset({"in_progress"}),  # reopen
    "cancelled": frozenset({"in_progress"}),  # reopen
}
"""Allowed next statuses for each status."""


def can_transition(old: str, new: str) -> bool:
    """Whether a task in status ``old`` may move to ``new``."""
    return new in TRANSITIONS.get(old, frozenset())


def allowed_next(old: str) -> list[str]:
    """The statuses reachable from ``old``, in declaration order (for error messages)."""
    reachable = TRANSITIONS.get(old, frozenset())
    return [status for status in STATUSES if status in reachable]
