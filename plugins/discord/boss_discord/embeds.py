"""Readable Discord messages for task events and the test alert, within Discord's limits.

Tasks are read by attribute (``title``, ``assignee``, ``priority``, ``deadline``, ``id`` …) so
this plugin never imports the tasks plugin. Mentions are disabled: a task titled
``@everyone`` must not ping the whole server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

__all__ = (
    "BLOCKED_STATUSES",
    "COMPLETED_STATUSES",
    "alert_test_message",
    "blocked_message",
    "completed_message",
    "created_message",
)

COMPLETED_STATUSES = frozenset({"done", "completed"})
BLOCKED_STATUSES = frozenset({"blocked"})

_PRIORITY_COLOURS = {"low": 0x95A5A6, "medium": 0x3498DB, "high": 0xE67E22, "urgent": 0xE74C3C}
_GREEN = 0x2ECC71
_RED = 0xC0392B
_AMBER = 0xF1C40F
_NO_MENTIONS: dict[str, Any] = {"parse": []}


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(value: Any) -> str:
    """A field value: never empty (Discord rejects empty fields), at most 1024 characters."""
    text = str(value).strip() if value is not None else ""
    return _cut(text or "—", 1024)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        stamp = int(moment.timestamp())
        return f"<t:{stamp}:f> (<t:{stamp}:R>)"
    if isinstance(value, date):
        return value.isoformat()
    return _value(value) if value else "none"


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    return None


def _field(name: str, value: Any, inline: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "value": value if isinstance(value, str) else _value(value),
        "inline": inline,
    }


def _message(username: str, embed: dict[str, Any]) -> dict[str, Any]:
    return {"username": username, "embeds": [embed], "allowed_mentions": _NO_MENTIONS}


def _footer(task: Any, actor: str, verb: str) -> dict[str, str]:
    return {"text": _cut(f"Task {getattr(task, 'id', '?')} · {verb} by {actor}", 2048)}


def created_message(task: Any, actor: str, *, username: str = "boss") -> dict[str, Any]:
    """The message for ``task.created``: title, assignee, priority and deadline."""
    priority = str(getattr(task, "priority", "medium"))
    embed: dict[str, Any] = {
        "title": _cut(f"New task: {getattr(task, 'title', '')}", 256),
        "color": _PRIORITY_COLOURS.get(priority, _PRIORITY_COLOURS["medium"]),
        "fields": [
            _field("Assignee", getattr(task, "assignee", None) or "unassigned"),
            _field("Priority", priority),
            _field("Deadline", _when(getattr(task, "deadline", None))),
        ],
        "footer": _footer(task, actor, "created"),
    }
    description = str(getattr(task, "description", "") or "")
    if description.strip():
        embed["description"] = _cut(description, 1000)
    stamp = _iso(getattr(task, "created_at", None))
    if stamp:
        embed["timestamp"] = stamp
    return _message(username, embed)


def completed_message(
    task: Any, actor: str, note: str | None = None, *, username: str = "boss"
) -> dict[str, Any]:
    """The message for a status change to done."""
    embed: dict[str, Any] = {
        "title": _cut(f"Task completed: {getattr(task, 'title', '')}", 256),
        "color": _GREEN,
        "fields": [
            _field("Assignee", getattr(task, "assignee", None) or "unassigned"),
            _field("Completed by", actor),
        ],
        "footer": _footer(task, actor, "completed"),
    }
    if note:
        embed["description"] = _cut(note, 1000)
    stamp = _iso(getattr(task, "updated_at", None))
    if stamp:
        embed["timestamp"] = stamp
    return _message(username, embed)


def blocked_message(
    task: Any, actor: str, note: str | None = None, *, username: str = "boss"
) -> dict[str, Any]:
    """The message for a status change to blocked, with the reason when one was given."""
    embed: dict[str, Any] = {
        "title": _cut(f"Task blocked: {getattr(task, 'title', '')}", 256),
        "color": _RED,
        "description": _cut(f"Reason: {note}", 1000) if note else "No reason given.",
        "fields": [
            _field("Assignee", getattr(task, "assignee", None) or "unassigned"),
            _field("Priority", getattr(task, "priority", None)),
            _field("Deadline", _when(getattr(task, "deadline", None))),
        ],
        "footer": _footer(task, actor, "blocked"),
    }
    stamp = _iso(getattr(task, "updated_at", None))
    if stamp:
        embed["timestamp"] = stamp
    return _message(username, embed)


def alert_test_message(
    requested_by: str, environment: str, *, username: str = "boss"
) -> dict[str, Any]:
    """The message ``POST /api/admin/test-alert`` sends to the alerts channel."""
    now = datetime.now(UTC)
    embed = {
        "title": "Test alert from boss",
        "color": _AMBER,
        "description": "If you can read this, boss can deliver alerts to this channel.",
        "fields": [_field("Requested by", requested_by), _field("Environment", environment)],
        "timestamp": now.isoformat(),
    }
    return _message(username, embed)
