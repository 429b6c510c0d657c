"""The tasks plugin's metric handles, with the ``assignee`` label kept bounded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from boss_tasks.workflow import STATUSES

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge

__all__ = ("OTHER", "UNASSIGNED", "TaskMetrics")

OTHER = "other"
UNASSIGNED = "unassigned"


class TaskMetrics:
    """Counts created and completed tasks; holds the database-wide status counts."""

    __slots__ = ("_by_status", "_completed", "_created", "_known")

    def __init__(
        self,
        *,
        created: Counter,
        completed: Counter,
        by_status: Gauge,
        known_assignees: Iterable[str] = (),
    ) -> None:
        self._created = created
        self._completed = completed
        self._by_status = by_status
        self._known = frozenset(known_assignees)

    def assignee_label(self, assignee: str | None) -> str:
        """Known assignees keep their name, others are ``other``, none is ``unassigned``."""
        if not assignee:
            return UNASSIGNED
        return assignee if assignee in self._known else OTHER

    def created(self, assignee: str | None, priority: str) -> None:
        """One task was created."""
        self._created.labels(self.assignee_label(assignee), priority).inc()

    def completed(self, assignee: str | None) -> None:
        """One task moved to ``completed``."""
        self._completed.labels(self.assignee_label(assignee)).inc()

    def set_status_counts(self, counts: Mapping[str, int]) -> None:
        """Set ``tasks_by_status`` for every status (zero where none are counted)."""
        for status in STATUSES:
            self._by_status.labels(status).set(counts.get(status, 0))
