"""boss-tasks: the task workflow plugin (entry point ``tasks`` in ``boss.plugins``).

Other plugins use ``TasksPlugin.service`` (a ``boss_tasks.service.TaskService``) and listen
to the ``task.created``, ``task.updated`` and ``task.status_changed`` events.
"""

from __future__ import annotations

from boss_tasks.plugin import TasksPlugin

__all__ = ("TasksPlugin",)
