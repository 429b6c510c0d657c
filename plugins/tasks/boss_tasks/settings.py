"""The tasks plugin's settings section, read from ``BOSS_TASKS__*`` variables."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ("TasksSettings",)


class TasksSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Metric label bounds and the refresh interval of the database-wide status counts."""

    known_assignees: tuple[str, ...] = ()
    """Assignees reported under their own name in metrics (comma list); others are ``other``."""
    status_refresh_seconds: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    """How often ``tasks_by_status`` is re-read from the database."""
