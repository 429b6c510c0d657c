"""The offline provider: deterministic rules that turn short task sentences into drafts.

It needs no network, so natural-language intake works out of the box. It understands the
forms a team lead types: ``"Ana: fix the login bug by Friday, urgent"``, ``"@bob update the
docs tomorrow"``, ``"renew the certificate for Carla by 2026-12-01, high priority"``, and
relative deadlines (today, tomorrow, weekdays, next week, end of month, in 3 days, Dec 4).
Its confidence grows with each part it recognised; it never guesses a field it did not see.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from boss_ai.draft import ASSIGNEE_MAX, DESCRIPTION_MAX, TITLE_MAX, Priority, TaskDraft, end_of_day

__all__ = ("OfflineProvider", "parse_text")

_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
}

_WEEKDAY_RE = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_PREP = r"(?:\b(?:by|before|on|until|till|due(?:\s+(?:by|on))?|for|no\s+later\s+than)\s+)?"

_NOT_NAMES = frozenset(
    {
        "bug", "bugs", "fix", "feature", "task", "todo", "note", "idea", "question", "chore",
        "docs", "doc", "hotfix", "security", "release", "meeting", "re", "fyi", "urgent",
        "important", "asap", "reminder", "followup", "follow-up", "ops", "infra", "ui", "api",
        "priority", "deadline", "update", "test", "tests", "please", "today", "tomorrow",
    }
    | set(_WEEKDAYS)
    | set(_MONTHS)
)  # fmt: skip

_LEADING_NAME = re.compile(r"^\s*@?(?P<name>[A-Za-z][\w.'-]{0,40}(?:\s[A-Z][\w'-]{0,40})?)\s*:\s+")
_MENTION = re.compile(r"(?:\b(?:for|to|assign(?:ed)?\s+to)\s+)?@(?P<name>[A-Za-z][\w.-]{0,60}\w)")
_FOR_NAME = re.compile(r"\b(?:assign(?:ed)?\s+to|for)\s+(?P<name>[A-Z][a-z][\w'-]{0,40})\b")
_PLEASE = re.compile(r"^(?:please|pls|plz|can\s+you|could\s+you)\s+", re.IGNORECASE)
_DANGLING = re.compile(r"\s+(?:by|before|on|until|till|due|for|and)\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9@])|\n+")
_CLAUSE_SPLIT = re.compile(r"\s*(?:[,;()\[\]]|\s-\s)\s*")

_PRIORITY_CLAUSES: tuple[tuple[Priority, str], ...] = (
    (
        "urgent",
        r"urgent|urgently|asap|critical|emergency|immediately|right\s+away|top\s+priority|p0",
    ),
    ("high", r"high|important|p1"),
    ("low", r"low|whenever|no\s+rush|someday|not\s+urgent|p3"),
    ("medium", r"medium|normal|p2"),
)
_PRIORITY_IN_TEXT: tuple[tuple[Priority, re.Pattern[str]], ...] = (
    ("low", re.compile(r"\b(?:low\s+priority|no\s+rush|not\s+urgent)\b", re.IGNORECASE)),
    ("urgent", re.compile(r"\b(?:urgent|urgently|asap)\b", re.IGNORECASE)),
    ("high", re.compile(r"\bhigh\s+priority\b", re.IGNORECASE)),
)


def _clause_priority(clause: str) -> Priority | None:
    text = clause.strip().strip("!.").strip().lower()
    for level, words in _PRIORITY_CLAUSES:
        if re.fullmatch(rf"(?:priority\s*[:=]?\s*)?(?:{words})(?:\s+priority|\s+prio)?", text):
            return level
    return None


# -- deadlines ------------------------------------------------------------------------------


def _upcoming(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _resolve_weekday(today: date, match: re.Match[str]) -> date:
    day = _upcoming(today, _WEEKDAYS[match.group("wd").lower()])
    if (match.group("next") or "").lower().startswith("next"):
        if day <= today:
            day += timedelta(days=7)
        if day.isocalendar()[:2] == today.isocalendar()[:2]:
            day += timedelta(days=7)
    return day


def _resolve_month_day(today: date, month: int, day_number: int) -> date | None:
    try:
        day = date(today.year, month, day_number)
    except ValueError:
        return None
    if day < today:
        try:
            day = date(today.year + 1, month, day_number)
        except ValueError:
            return None
    return day


def _in_days(today: date, match: re.Match[str]) -> date:
    amount_text = match.group("n").lower()
    amount = int(amount_text) if amount_text.isdigit() else _NUMBERS[amount_text]
    unit = 7 if match.group("unit").lower().startswith("week") else 1
    return today + timedelta(days=min(amount * unit, 3660))


def _end_of_month(today: date) -> date:
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


_Resolver = Callable[[date, re.Match[str]], date | None]

_DEADLINES: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (
        re.compile(_PREP + r"(?P<iso>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE),
        lambda today, m: _iso_date(m.group("iso")),
    ),
    (
        re.compile(_PREP + r"\b(?:today|tonight|end\s+of\s+(?:the\s+)?day|eod)\b", re.IGNORECASE),
        lambda today, m: today,
    ),
    (
        re.compile(_PREP + r"\btomorrow\b", re.IGNORECASE),
        lambda today, m: today + timedelta(days=1),
    ),
    (
        re.compile(_PREP + r"\b(?:end\s+of\s+(?:the\s+)?week|eow|this\s+week)\b", re.IGNORECASE),
        lambda today, m: _upcoming(today, 4),
    ),
    (
        re.compile(_PREP + r"\bnext\s+week\b", re.IGNORECASE),
        lambda today, m: today + timedelta(days=7 - today.weekday() + 4),  # next week's Friday
    ),
    (
        re.compile(_PREP + r"\b(?:end\s+of\s+(?:the\s+)?month|eom)\b", re.IGNORECASE),
        lambda today, m: _end_of_month(today),
    ),
    (
        re.compile(
            _PREP
            + r"\bin\s+(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven)\s+(?P<unit>days?|weeks?)\b",
            re.IGNORECASE,
        ),
        _in_days,
    ),
    (
        re.compile(
            _PREP + rf"\b(?P<next>next\s+|this\s+)?(?P<wd>{_WEEKDAY_RE})\b\.?", re.IGNORECASE
        ),
        _resolve_weekday,
    ),
    (
        re.compile(
            _PREP + rf"\b(?P<month>{_MONTH_RE})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b",
            re.IGNORECASE,
        ),
        lambda today, m: _resolve_month_day(
            today, _MONTHS[m.group("month").lower()], int(m.group("day"))
        ),
    ),
    (
        re.compile(
            _PREP
            + rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH_RE})\b\.?",
            re.IGNORECASE,
        ),
        lambda today, m: _resolve_month_day(
            today, _MONTHS[m.group("month").lower()], int(m.group("day"))
        ),
    ),
)


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _find_deadline(text: str, today: date) -> tuple[date | None, str]:
    """The earliest deadline phrase in ``text``, resolved, and ``text`` without it."""
    best: tuple[int, re.Match[str], _Resolver] | None = None
    for pattern, resolve in _DEADLINES:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), match, resolve)
    if best is None:
        return None, text
    _, match, resolve = best
    day = resolve(today, match)
    if day is None:
        return None, text
    return day, text[: match.start()] + " " + text[match.end() :]


# -- assignee, priority, title ----------------------------------------------------------------


def _find_assignee(text: str) -> tuple[str | None, str]:
    leading = _LEADING_NAME.match(text)
    if leading and leading.group("name").split()[0].lower() not in _NOT_NAMES:
        first = leading.group("name")
        if first[0].isupper() or text.lstrip().startswith("@"):
            return first, text[leading.end() :]
    mention = _MENTION.search(text)
    if mention:
        return mention.group("name"), text[: mention.start()] + " " + text[mention.end() :]
    named = _FOR_NAME.search(text)
    if named and named.group("name").lower() not in _NOT_NAMES:
        return named.group("name"), text[: named.start()] + " " + text[named.end() :]
    return None, text


def _find_priority(text: str) -> tuple[Priority | None, str]:
    clauses = _CLAUSE_SPLIT.split(text)
    found: Priority | None = None
    kept: list[str] = []
    for clause in clauses:
        level = _clause_priority(clause) if found is None else None
        if level is not None:
            found = level
        elif clause.strip():
            kept.append(clause.strip())
    rest = ", ".join(kept)
    if found is None:
        for level, pattern in _PRIORITY_IN_TEXT:
            match = pattern.search(text)
            if match:
                if not text[match.end() :].strip(" .!"):
                    text = text[: match.start()]  # a trailing "… ASAP" is not part of the title
                return level, text
    return found, rest


def _tidy_title(text: str) -> str:
    title = re.sub(r"\s+", " ", text)
    title = re.sub(r"\s+([,;:.!?])", r"\1", title)
    for _ in range(3):
        title = title.strip(" ,;:-\u2013\u2014.!")
        title = _DANGLING.sub("", title)
        title = _PLEASE.sub("", title)
    title = title.strip(" ,;:-\u2013\u2014.!")
    if title:
        title = title[0].upper() + title[1:]
    return _cut(title, TITLE_MAX)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_text(text: str, now: datetime) -> TaskDraft:
    """Turn ``text`` into a draft, reading relative deadlines against ``now`` (UTC)."""
    cleaned = re.sub(r"[ \t]+", " ", text.strip())
    parts = _SENTENCE_END.split(cleaned, maxsplit=1)
    head = parts[0]
    description = parts[1].strip() if len(parts) > 1 else ""
    assignee, head = _find_assignee(head)
    deadline_day, head = _find_deadline(head, now.date())
    priority, head = _find_priority(head)
    if assignee is None:
        assignee, head = _find_assignee(head)
    title = _tidy_title(head)
    confidence = 0.4
    if not title:
        title = _cut(cleaned.splitlines()[0].strip() or "Untitled task", TITLE_MAX)
        confidence = 0.2
    confidence += (
        0.2 * (assignee is not None)
        + 0.2 * (deadline_day is not None)
        + 0.1 * (priority is not None)
    )
    return TaskDraft(
        title=title,
        description=_cut(description, DESCRIPTION_MAX),
        assignee=_cut(assignee, ASSIGNEE_MAX) if assignee else None,
        priority=priority or "medium",
        deadline=end_of_day(deadline_day) if deadline_day else None,
        confidence=round(confidence, 2),
        provider="offline",
    )


class OfflineProvider:
    """Provider interface over ``parse_text``: no network, no failures, instant."""

    name = "offline"

    async def draft(self, text: str, *, now: datetime) -> TaskDraft:
        """The draft for ``text``."""
        return parse_text(text, now)

    def describe(self) -> str:
        """Readiness detail."""
        return "offline provider (deterministic rules)"
