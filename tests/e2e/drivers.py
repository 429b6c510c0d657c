"""Traffic through every installed plugin, so that each plugin's metrics have series.

One driver per plugin name. The test fails when an installed plugin has no driver here:
an end-to-end test that silently skips a plugin would prove nothing about its panels.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

from tests.conftest import ADMIN

from .traffic import Traffic, TrafficError

__all__ = (
    "AUDIT",
    "DRIVERS",
    "TASK",
    "TASKS",
    "TASK_STATUS",
    "Drive",
    "installed_plugins",
    "missing_drivers",
)


@dataclass
class Drive:
    """What the drivers share: the traffic recorders."""

    traffic: Traffic
    burst: Traffic
    """Requests made with the burst key (its own rate-limit bucket)."""


def installed_plugins() -> list[str]:
    """Names of the ``boss.plugins`` entry points installed in this environment."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group="boss.plugins")})


def drive_core(drive: Drive) -> None:
    """Health, the OpenAPI schema, an unmatched path (404) and an unauthenticated call (401)."""
    t = drive.traffic
    for _ in range(3):
        t.request("GET", "/health")
        t.request("GET", "/health/ready", expect=(200, 503))
    t.request("GET", "<unmatched>", "/no/such/route", expect=404)
    t.request("GET", "<unmatched>", "/api/no-such-route", expect=(401, 404), headers=ADMIN)


def drive_example(drive: Drive) -> None:
    """The test suite's third-party example plugin: greetings in two languages."""
    t = drive.traffic
    for language in ("en", "pt", "xx"):
        t.request("GET", "/api/example/hello", params={"language": language}, headers=ADMIN)


TASKS = "/api/db/tasks"
TASK = "/api/db/tasks/{task_id}"
TASK_STATUS = "/api/db/tasks/{task_id}/status"
AUDIT = "/api/db/audit/{task_id}"


def drive_tasks(drive: Drive) -> None:
    """Task CRUD and the status workflow, repeated reads (cache hits), and 400/404/409 answers."""
    t = drive.traffic
    created = []
    for title, assignee, priority in (
        ("Write the quarterly report", "ana", "high"),
        ("Fix the login page", "bob", "urgent"),
        ("Order coffee", None, "low"),
    ):
        body: dict[str, object] = {"title": title, "priority": priority}
        if assignee:
            body["assignee"] = assignee
        created.append(t.request("POST", TASKS, json=body, headers=ADMIN, expect=201).json())
    for _ in range(2):  # miss, then hit
        t.request("GET", TASKS, headers=ADMIN)
        for task in created:
            t.request("GET", TASK, f"{TASKS}/{task['id']}", headers=ADMIN)
    first, second, third = created
    first = t.request(
        "PATCH",
        TASK,
        f"{TASKS}/{first['id']}",
        json={"description": "Numbers from finance", "version": first["version"]},
        headers=ADMIN,
    ).json()
    for task, status in ((first, "in_progress"), (first, "completed"), (second, "blocked")):
        task.update(
            t.request(
                "POST",
                TASK_STATUS,
                f"{TASKS}/{task['id']}/status",
                json={"status": status, "version": task["version"], "note": "e2e"},
                headers=ADMIN,
            ).json()
        )
    t.request(
        "POST",
        TASK_STATUS,
        f"{TASKS}/{third['id']}/status",
        headers=ADMIN,
        expect=409,
        json={"status": "completed", "version": third["version"]},
    )
    t.request("GET", AUDIT, f"/api/db/audit/{first['id']}", headers=ADMIN)
    # Error answers: a validation error naming the field, an unknown task, a stale version.
    t.request("POST", TASKS, json={"title": ""}, headers=ADMIN, expect=400)
    t.request("GET", TASK, f"{TASKS}/TASK-999999999", headers=ADMIN, expect=404)
    t.request(
        "PATCH",
        TASK,
        f"{TASKS}/{second['id']}",
        json={"title": "Stale", "version": 1},
        headers=ADMIN,
        expect=409,
    )


def drive_ai(drive: Drive) -> None:
    """Free-text intake through the offline provider: a parse and a task creation."""
    t = drive.traffic
    t.request(
        "POST",
        "/api/ai/parse",
        json={"text": "Ana: fix the login bug by Friday, urgent"},
        headers=ADMIN,
    )
    t.request(
        "POST",
        "/api/ai/tasks",
        json={"text": "Bob should review the quarterly budget, low priority"},
        headers=ADMIN,
        expect=201,
    )


def drive_discord(drive: Drive) -> None:
    """The admin test alert, delivered through the plugin's queue to the fake Discord."""
    t = drive.traffic
    response = t.request("POST", "/api/admin/test-alert", headers=ADMIN, expect=200)
    status = response.json().get("status")
    if status != "sent":
        raise TrafficError(f"POST /api/admin/test-alert answered status {status!r}, not 'sent'")


def drive_cache(drive: Drive) -> None:
    """The cache has no routes of its own: the tasks driver's repeated reads exercise it."""
    if "tasks" not in installed_plugins():
        raise TrafficError("the cache plugin is only exercised through the tasks plugin's reads")


DRIVERS: dict[str, Callable[[Drive], None]] = {
    "core": drive_core,
    "tasks": drive_tasks,
    "example": drive_example,
    "cache": drive_cache,
    "ai": drive_ai,
    "discord": drive_discord,
}
"""Plugin name -> its driver, run in this order (core first)."""


def missing_drivers() -> list[str]:
    """Installed plugins without a driver."""
    return [name for name in installed_plugins() if name not in DRIVERS]
