"""The task draft a provider produces, the API's request shape, and the LLM answer schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from boss_ai.errors import ProviderError

__all__ = (
    "ASSIGNEE_MAX",
    "DESCRIPTION_MAX",
    "TITLE_MAX",
    "LLMAnswer",
    "ParseRequest",
    "Priority",
    "Recognised",
    "TaskDraft",
    "end_of_day",
    "parse_deadline",
    "zone",
)

Priority = Literal["low", "medium", "high", "urgent"]
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
ASSIGNEE_MAX = 100
TEXT_MAX = 4000


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``); raises ``ValueError`` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        raise ValueError(f"{name!r} is not an IANA time zone name such as Europe/Berlin") from None


class ParseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Free text to turn into a task, e.g. ``"Ana: fix the login bug by Friday, urgent"``."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_MAX)]
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    """IANA zone relative dates are read in (default: ``BOSS_AI__TIMEZONE``)."""
    now: datetime | None = None
    """The moment "tomorrow" is counted from (default: the server clock); naive means UTC."""


class Recognised(msgspec.Struct, kw_only=True):
    """Which fields the provider read from the text (false: a default or a fallback)."""

    title: bool
    assignee: bool
    priority: bool
    deadline: bool


class TaskDraft(msgspec.Struct, kw_only=True):
    """A task as a provider understood it; every field already fits the tasks plugin's limits."""

    title: str
    description: str = ""
    assignee: str | None = None
    priority: Priority = "medium"
    deadline: datetime | None = None
    """End of the named day in UTC when only a day was given."""
    confidence: float
    """How sure the provider is, from 0 to 1 (offline: calibrated on the corpus, docs/ai.md)."""
    provider: str
    """``offline`` or ``openai``."""
    recognised: Recognised | None = None
    """Which fields came from the text."""
    timezone: str = "UTC"
    """The zone relative dates were read in; ``deadline`` itself is always UTC."""


class LLMAnswer(msgspec.Struct, kw_only=True):
    """What the model must answer (as a JSON object); anything else is a bad answer."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX)] = ""
    assignee: Annotated[str, msgspec.Meta(max_length=ASSIGNEE_MAX)] | None = None
    priority: Priority = "medium"
    deadline: str | None = None
    """ISO 8601 date (``2026-11-27``) or date-time; ``null`` when none was given."""
    confidence: Annotated[float, msgspec.Meta(ge=0, le=1)]


def end_of_day(day: date, tz: tzinfo = UTC) -> datetime:
    """The last second of ``day`` in ``tz``, in UTC: what "by Friday" means for a deadline."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def parse_deadline(value: str | None, tz: tzinfo = UTC) -> datetime | None:
    """An LLM's deadline in UTC: a date means its end of day in ``tz``, naive means ``tz``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return end_of_day(date.fromisoformat(text), tz)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProviderError(
            "bad_answer", f"the AI provider's deadline {text[:40]!r} is not an ISO 8601 date"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
