"""Turn one outbox pass's task events into as few Discord messages as stay readable.

Up to ``digest_after`` (at most 10) events: one embed each, packed into messages of at
most 10 embeds and 6000 characters (Discord's limits), counted ``sent``. More: one digest
message with an embed per kind ("57 tasks created in the last minute", the first few
listed by name), every event counted ``coalesced``. A burst of thousands of tasks thus
costs one message per pass instead of thousands that Discord would rate-limit anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Literal

import msgspec

from boss_discord.embeds import (
    BLOCKED_STATUSES,
    COMPLETED_STATUSES,
    blocked_message,
    completed_message,
    created_message,
)

__all__ = (
    "EMBEDS_PER_MESSAGE",
    "EMBED_CHARS",
    "Notification",
    "Planned",
    "notification_for",
    "plan",
)

EMBEDS_PER_MESSAGE = 10
"""Discord accepts at most 10 embeds in one message."""
EMBED_CHARS = 5800
"""Characters all embeds of one message may hold (Discord's limit is 6000; some slack)."""
Kind = Literal["created", "completed", "blocked"]
_VERBS: dict[str, str] = {"created": "created", "completed": "completed", "blocked": "blocked"}
_COLOURS = {"created": 0x3498DB, "completed": 0x2ECC71, "blocked": 0xC0392B}
_NO_MENTIONS: dict[str, Any] = {"parse": []}
_TIME_FIELDS = ("deadline", "created_at", "updated_at")


class Notification(msgspec.Struct, frozen=True):
    """One event that deserves a message: its id, kind, single-embed message and when."""

    event_id: int
    kind: str
    message: dict[str, Any]
    task_id: str
    title: str
    at: datetime


class Planned(msgspec.Struct, frozen=True):
    """A message to send, the events it carries and how they count once it is delivered."""

    payload: dict[str, Any]
    event_ids: tuple[int, ...]
    status: Literal["sent", "coalesced"]


def _task(raw: Any) -> SimpleNamespace:
    """The staged task (plain JSON) as the attribute object the embed builders read."""
    fields = dict(raw) if isinstance(raw, dict) else {}
    for name in _TIME_FIELDS:
        value = fields.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                fields[name] = datetime.fromisoformat(value)
    return SimpleNamespace(**fields)


def notification_for(
    event_id: int, topic: str, payload: dict[str, Any], at: datetime, *, username: str
) -> Notification | None:
    """The notification an outbox event makes, or ``None`` (an event nobody is told about)."""
    task = _task(payload.get("task"))
    actor = str(payload.get("actor") or "someone")
    note = payload.get("note") or None
    if topic == "task.created":
        kind, message = "created", created_message(task, actor, username=username)
    elif topic == "task.status_changed":
        status = str(payload.get("new_status") or getattr(task, "status", ""))
        if status in COMPLETED_STATUSES:
            kind, message = "completed", completed_message(task, actor, note, username=username)
        elif status in BLOCKED_STATUSES:
            kind, message = "blocked", blocked_message(task, actor, note, username=username)
        else:
            return None
    else:
        return None
    return Notification(
        event_id=event_id,
        kind=kind,
        message=message,
        task_id=str(getattr(task, "id", "?")),
        title=str(getattr(task, "title", "")),
        at=at,
    )


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    size += len(str((embed.get("footer") or {}).get("text") or ""))
    for field in embed.get("fields") or []:
        size += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    return size


def _span(notes: Sequence[Notification]) -> str:
    seconds = (max(n.at for n in notes) - min(n.at for n in notes)).total_seconds()
    if seconds <= 60:
        return "in the last minute"
    minutes = int(seconds // 60) + 1
    return f"in the last {minutes} minutes"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _digest(notes: Sequence[Notification], *, username: str, listed: int) -> Planned:
    embeds: list[dict[str, Any]] = []
    for kind in ("created", "completed", "blocked"):
        group = [n for n in notes if n.kind == kind]
        if not group:
            continue
        noun = "task" if len(group) == 1 else "tasks"
        lines = [f"• {n.task_id} {_cut(n.title, 80)}" for n in group[:listed]]
        if len(group) > listed:
            lines.append(f"… and {len(group) - listed} more")
        embed: dict[str, Any] = {
            "title": f"{len(group)} {noun} {_VERBS[kind]} {_span(group)}",
            "color": _COLOURS[kind],
            "timestamp": max(n.at for n in group).astimezone(UTC).isoformat(),
        }
        if lines:
            embed["description"] = "\n".join(lines)
        embeds.append(embed)
    payload = {"username": username, "embeds": embeds, "allowed_mentions": _NO_MENTIONS}
    return Planned(payload=payload, event_ids=tuple(n.event_id for n in notes), status="coalesced")


def plan(
    notes: Sequence[Notification], *, username: str, digest_after: int = 10, listed: int = 5
) -> list[Planned]:
    """The messages for one pass: embeds packed within Discord's limits, or one digest."""
    if not notes:
        return []
    if len(notes) > min(digest_after, EMBEDS_PER_MESSAGE):
        return [_digest(notes, username=username, listed=listed)]
    planned: list[Planned] = []
    embeds: list[dict[str, Any]] = []
    ids: list[int] = []
    size = 0
    for note in notes:
        embed = note.message["embeds"][0]
        grown = size + _embed_size(embed)
        if embeds and (len(embeds) >= EMBEDS_PER_MESSAGE or grown > EMBED_CHARS):
            planned.append(_message(embeds, ids, username))
            embeds, ids, grown = [], [], _embed_size(embed)
        embeds.append(embed)
        ids.append(note.event_id)
        size = grown
    planned.append(_message(embeds, ids, username))
    return planned


def _message(embeds: list[dict[str, Any]], ids: list[int], username: str) -> Planned:
    payload = {"username": username, "embeds": list(embeds), "allowed_mentions": _NO_MENTIONS}
    return Planned(payload=payload, event_ids=tuple(ids), status="sent")
