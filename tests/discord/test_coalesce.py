"""Planning one outbox pass into Discord messages: limits kept, bursts become digests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from boss_discord.coalesce import EMBED_CHARS, notification_for, plan

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def _created(number: int, *, description: str = "", seconds: int = 0) -> object:
    task = {
        "id": f"TASK-{number}",
        "title": f"Task number {number}",
        "description": description,
        "priority": "high",
        "created_at": (T0 + timedelta(seconds=seconds)).isoformat(),
    }
    note = notification_for(
        number, "task.created", {"task": task, "actor": "ana"}, T0 + timedelta(seconds=seconds),
        username="boss",
    )  # fmt: skip
    assert note is not None
    return note


def _size(embed: dict) -> int:
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
        + len(embed.get("footer", {}).get("text", ""))
    )


def test_up_to_ten_events_are_embeds_packed_within_discords_limits() -> None:
    notes = [_created(n, description="x" * 900) for n in range(1, 11)]
    planned = plan(notes, username="boss")  # type: ignore[arg-type]
    assert [e for p in planned for e in p.event_ids] == list(range(1, 11))
    assert all(p.status == "sent" for p in planned)
    assert len(planned) >= 2  # 10 embeds of ~1000 characters do not fit one message
    for message in planned:
        embeds = message.payload["embeds"]
        assert len(embeds) <= 10
        assert sum(_size(e) for e in embeds) <= EMBED_CHARS
        assert message.payload["allowed_mentions"] == {"parse": []}


def test_a_burst_becomes_one_digest_per_pass() -> None:
    notes = [_created(n, seconds=n) for n in range(1, 58)]
    (digest,) = plan(notes, username="boss", listed=5)  # type: ignore[arg-type]
    assert digest.status == "coalesced"
    assert len(digest.event_ids) == 57
    (embed,) = digest.payload["embeds"]
    assert embed["title"] == "57 tasks created in the last minute"
    lines = embed["description"].splitlines()
    assert lines[:2] == ["• TASK-1 Task number 1", "• TASK-2 Task number 2"]
    assert lines[-1] == "… and 52 more"


def test_status_changes_without_a_message_are_silent() -> None:
    payload = {"task": {"id": "TASK-1", "title": "t"}, "new_status": "in_progress"}
    assert notification_for(1, "task.status_changed", payload, T0, username="boss") is None
    blocked = {"task": {"id": "TASK-1", "title": "t"}, "new_status": "blocked", "note": "why"}
    note = notification_for(2, "task.status_changed", blocked, T0, username="boss")
    assert note is not None
    assert note.kind == "blocked"
