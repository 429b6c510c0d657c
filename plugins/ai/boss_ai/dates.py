"""Deadline phrases in free text: parsedatetime finds and reads them, a small grammar adds the rest.

parsedatetime (``Calendar.nlp``) locates date and time phrases and resolves them against the
team's local "now" ("tomorrow 3pm", "Dec 4", "December 4th 2027", "12/04" read US-style as
month/day, "next Monday", "in two weeks", "Friday at 10am"). Our grammar covers what it misses
or reads differently from a team lead: "EOD"/"COB", "end of (next) week", "next week"
(that week's Friday), "end of (next) month", "next month" (its last day), "end of <month>",
"the 30th", "the 4th of December", "mid-December", "before the weekend", "at 10", "Thurs".
A filter drops what is no deadline (counts and versions, past or repeated moments, meals,
rescheduled times). Month and weekday names come from parsedatetime's locale, not from
tables of ours. The library is imported on first use so ``boss serve`` starts without it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

__all__ = ("DateHit", "find_deadline", "month_names", "weekday_names")

END_OF_DAY = time(23, 59, 59)
CLOSE_OF_BUSINESS = time(17, 0)
_PERIOD_END = {"morning": time(12, 0), "afternoon": time(17, 0), "evening": time(21, 0)}


@dataclass(frozen=True)
class DateHit:
    """One deadline phrase: where it is in the text and the local moment it names."""

    start: int
    end: int
    moment: datetime
    """Naive local time in the team's zone (end of day when only a day was named)."""
    has_time: bool
    removable: bool = True
    """False for an attributive use ("for Thursday's retro"): the date counts, the words stay."""


@cache
def _calendar() -> Any:
    """The parsedatetime calendar, imported lazily (about 60 ms of start-up otherwise)."""
    import parsedatetime  # type: ignore[import-untyped]

    return parsedatetime.Calendar(version=parsedatetime.VERSION_CONTEXT_STYLE)


@cache
def _locale() -> Any:
    import parsedatetime

    return parsedatetime.pdtLocales["en_US"]


@cache
def month_names() -> dict[str, int]:
    """Full and short English month names (from parsedatetime's locale) to month numbers."""
    locale = _locale()
    names: dict[str, int] = {}
    for number, (full, short) in enumerate(zip(locale.Months, locale.shortMonths, strict=True)):
        names[full] = number + 1
        for alias in short.split("|"):
            names[alias] = number + 1
    names.setdefault("sept", 9)
    return names


@cache
def weekday_names() -> frozenset[str]:
    """Full and short English weekday names (from parsedatetime's locale)."""
    locale = _locale()
    names = set(locale.Weekdays)
    for short in locale.shortWeekdays:
        names.update(short.split("|"))
    return frozenset(names)


def _alternation(names: Iterable[str]) -> str:
    return "|".join(sorted(names, key=len, reverse=True))


# -- our grammar ---------------------------------------------------------------------------------


@cache
def _weekday_prefixes() -> str:
    """Weekday spellings between parsedatetime's short and full names ("thur", "thurs")."""
    known = weekday_names()
    prefixes = {
        full[:length]
        for full in _locale().Weekdays
        for length in range(3, len(full))
        if full[:length] not in known
    }
    return "|".join(sorted(prefixes, key=len, reverse=True))


_ORDINAL = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)"


@cache
def _grammar() -> tuple[tuple[re.Pattern[str], str], ...]:
    months = _alternation(month_names())
    flags = re.IGNORECASE
    return (
        (re.compile(r"\b(?:cob|close\s+of\s+business|end\s+of\s+(?:the\s+)?business\s+day)\b", flags), "cob"),
        (re.compile(r"\b(?:eod|end\s+of\s+(?:the\s+)?day|tonight)\b", flags), "eod"),
        (re.compile(r"\b(?:tmrw|tmr|tmw|2moro|tomoz)\b", flags), "tomorrow"),
        (
            re.compile(
                r"(?<=\bat\s)(?P<hour>1[0-2]|0?[1-9])(?::(?P<minute>[0-5]\d))?\b"
                r"(?![.,:]?\d|\s*(?:%|[ap]\.?m\b|o'?clock|percent|x\b|times|users|people|items"
                r"|servers|hosts|nodes|pods|days?|weeks?|months?|hours?|minutes?|mins?|seconds?"
                r"|secs?|[kmg]b?\b|ms\b))",
                flags,
            ),
            "bare_hour",
        ),
        (re.compile(r"\bthis\s+(?P<period>morning|afternoon|evening)\b", flags), "this_period"),
        (re.compile(r"\b(?:before|by|until|till)\s+the\s+weekend\b", flags), "week"),
        (re.compile(r"\b(?:over|on|during|at)\s+the\s+weekend\b|\bthis\s+weekend\b", flags), "weekend"),
        (re.compile(r"\bin\s+a\s+couple\s+(?:of\s+)?(?P<unit>days|weeks)\b", flags), "couple"),
        (re.compile(rf"\bmid[-\s]?(?:(?P<month>{months})|month)\b", flags), "mid_month"),
        (re.compile(rf"\b(?P<prep>in|during|by|before|until|till)\s+(?P<month>{months})\b(?!\.?\s*\d)(?:\s+(?P<year>\d{{4}}))?", flags), "named_month"),
        (re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+)?next\s+week|next\s+week)\b", flags), "next_week"),
        (re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week|eow|this\s+week)\b", flags), "week"),
        (re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+)?next\s+month|next\s+month)\b", flags), "next_month"),
        (re.compile(r"\b(?:(?:the\s+)?(?:end|last\s+day)\s+of\s+(?:the\s+|this\s+)?month|eom|this\s+month)\b", flags), "month"),
        (re.compile(rf"\b(?P<next>next\s+|this\s+)?(?P<weekday>{_weekday_prefixes()})\b\.?", flags), "weekday_prefix"),
        (re.compile(r"\bin\s+(?P<n>\d{1,3})\s*(?P<unit>wks?|w|hrs?|h|d)\b", flags), "in_short_units"),
        (re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?year|eoy|this\s+year)\b", flags), "year"),
        (re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?quarter|eoq|this\s+quarter)\b", flags), "quarter"),
        (re.compile(rf"\b(?:the\s+)?end\s+of\s+(?P<month>{months})\b\.?(?:\s+(?P<year>\d{{4}}))?", flags), "end_of_named_month"),
        (
            re.compile(
                rf"\b(?:the\s+)?{_ORDINAL}\s+of\s+(?P<month>{months})\b\.?(?:,?\s+(?P<year>\d{{4}}))?"
                rf"|\b(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?\s+(?P<month2>{months})\b\.?(?:,?\s+(?P<year2>\d{{4}}))?",
                flags,
            ),
            "day_of_month_name",
        ),
        (
            re.compile(
                rf"\bthe\s+{_ORDINAL}\b(?!\s+of\b)"
                rf"|(?:(?<=\bby\s)|(?<=\bon\s)|(?<=\bdue\s)|(?<=\bbefore\s)|(?<=\buntil\s))"
                rf"(?P<bare>[0-3]?\d)(?:st|nd|rd|th)\b(?!\s+(?:of|{months})\b)",
                flags,
            ),
            "ordinal",
        ),
    )  # fmt: skip


def _friday(day: date, weeks_ahead: int = 0) -> date:
    return day + timedelta(days=(4 - day.weekday()) % 7 + 7 * weeks_ahead)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _upcoming(today: date, month: int, day: int, year: str | None) -> date | None:
    try:
        if year:
            return date(int(year), month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _grammar_moment(kind: str, match: re.Match[str], now: datetime) -> tuple[datetime, bool] | None:
    today = now.date()
    day: date | None
    if kind == "cob":
        return datetime.combine(today, CLOSE_OF_BUSINESS), True
    if kind == "bare_hour":  # "at 10": a working-hours clock, 1-7 meaning the afternoon
        hour = int(match.group("hour"))
        hour += 12 if hour < 8 else 0
        return datetime.combine(today, time(hour, int(match.group("minute") or 0))), True
    if kind == "weekday_prefix":
        text = match.group("weekday").lower()
        weekday = next(i for i, full in enumerate(_locale().Weekdays) if full.startswith(text))
        day = today + timedelta(days=(weekday - today.weekday()) % 7)
        if (match.group("next") or "").lower().startswith("next"):
            monday = today - timedelta(days=today.weekday())
            day = monday + timedelta(days=7 + weekday)
        return datetime.combine(day, END_OF_DAY), False
    if kind == "in_short_units":
        amount, unit = int(match.group("n")), match.group("unit").lower()
        if unit.startswith("h"):
            return now + timedelta(hours=amount), True
        return datetime.combine(
            today + timedelta(days=amount * (7 if unit.startswith("w") else 1)), END_OF_DAY
        ), False
    if kind == "eod":
        day = today
    elif kind == "tomorrow":
        day = today + timedelta(days=1)
    elif kind == "this_period":
        return datetime.combine(today, _PERIOD_END[match.group("period").lower()]), True
    elif kind == "weekend":
        day = today + timedelta(days=(6 - today.weekday()) % 7)
    elif kind == "couple":
        day = today + timedelta(days=2 * (7 if match.group("unit").lower() == "weeks" else 1))
    elif kind == "mid_month":
        named = match.group("month")
        month = month_names()[named.lower()] if named else today.month
        day = _upcoming(today, month, 15, None)
    elif kind == "named_month":
        month = month_names()[match.group("month").lower()]
        year = int(match.group("year") or today.year)
        if match.group("prep").lower() in ("by", "before", "until", "till"):
            day = date(year, month, 1) - timedelta(days=1)  # "by March": before March starts
        else:
            day = _month_end(year, month)
        if day < today and not match.group("year"):
            day = day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else day
            if match.group("prep").lower() not in ("by", "before", "until", "till"):
                day = _month_end(year + 1, month)
    elif kind == "week":
        day = _friday(today)
    elif kind == "next_week":
        day = _friday(today - timedelta(days=today.weekday()), 1)
    elif kind == "month":
        day = _month_end(today.year, today.month)
    elif kind == "next_month":
        day = _month_end(*_add_months(today, 1))
    elif kind == "year":
        day = date(today.year, 12, 31)
    elif kind == "quarter":
        day = _month_end(today.year, (today.month - 1) // 3 * 3 + 3)
    elif kind == "end_of_named_month":
        month = month_names()[match.group("month").lower()]
        year = int(match.group("year") or today.year)
        day = _month_end(year, month)
        if day < today and not match.group("year"):
            day = _month_end(year + 1, month)
    elif kind == "day_of_month_name":
        month_text = match.group("month") or match.group("month2")
        day = _upcoming(
            today,
            month_names()[month_text.lower()],
            int(match.group("day") or match.group("day2")),
            match.group("year") or match.group("year2"),
        )
    else:  # ordinal: the next day with that number, this month or the next
        number = int(match.group("day") or match.group("bare"))
        day = None
        for ahead in range(3):
            year, month = _add_months(today, ahead)
            if number <= calendar.monthrange(year, month)[1] and date(year, month, number) >= today:
                day = date(year, month, number)
                break
    if day is None:
        return None
    return datetime.combine(day, END_OF_DAY), False


# -- the library ---------------------------------------------------------------------------------

_NOT_DATES = re.compile(
    r"\b\d+(?:[.,]\d+)*s\b|\bv?\d+\.\d+(?:\.\d+)*\b(?!\.?\s*\d)|\b\d+(?:\.\d+)?\s*%",
    re.IGNORECASE,
)
"""Counts, status codes, versions and percentages ("429s", "1:1s", "5.1", "100%")."""
_NOT_DEADLINE_BEFORE = re.compile(
    r"\b(?:since|from|every|each|last|between|after"
    r"|(?:moved|postponed|pushed|rescheduled|shifted|delayed|slipped)\s+(?:to|until|till))\s+$",
    re.IGNORECASE,
)
"""A moment after these words is not the task's deadline ("since Sunday", "every Monday",
"the release moved to Monday")."""
_RESCHEDULE_BEFORE = re.compile(r"\b(?:to|from|between|and)\s+$", re.IGNORECASE)
"""A time of day after these words is a new schedule, not a deadline ("move it to 2am")."""
_MEAL = re.compile(r"^(?:breakfast|lunch|dinner)$", re.IGNORECASE)
_NUMBERISH = re.compile(r"^(?:on\s+|at\s+|in\s+)?\d+(?:[.,]\d+)*s?$", re.IGNORECASE)
_LEADING_PREP = re.compile(r"^\s*(?:by|before|on|until|till|due|at|from)\s+", re.IGNORECASE)
_PAST = re.compile(r"\b(?:last|yesterday|ago)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b\d{4}\b|\bnext\s+year\b", re.IGNORECASE)


def _library_hits(text: str, now: datetime) -> list[tuple[int, int, datetime, bool, bool]]:
    """parsedatetime's phrases as (start, end, local moment, has_time, time_only), filtered."""
    import parsedatetime

    masked = _NOT_DATES.sub(lambda m: " " * len(m.group(0)), text)
    masked = re.sub(r"@(?=\s*\d)", " ", masked)  # "tomorrow @ 3pm"
    found = _calendar().nlp(masked, sourceTime=now) or ()
    hits = []
    for _moment, context, start, _end, phrase in found:
        stripped = phrase.strip()
        if (
            _NUMBERISH.match(stripped)
            or _PAST.search(stripped)
            or re.match(r"(?:after|since|from|every|each)\b", stripped, re.IGNORECASE)
        ):
            continue  # versions, counts, durations ("3.2", "502s", "40s") and past moments
        accuracy = context.accuracy
        if accuracy == parsedatetime.pdtContext.ACU_MONTH:
            continue  # a bare month name ("may", "the November invoices")
        # Re-read without a leading preposition: parsedatetime reads "before Jan 15" as a
        # moment before the date (in the past), "by"/"on" make no difference otherwise.
        core = _LEADING_PREP.sub("", stripped)
        moment, context = _calendar().parseDT(core, sourceTime=now)
        if not (context.hasDate or context.hasTime):
            continue
        has_time = bool(context.hasTime)
        time_only = has_time and not context.hasDate
        lowered = core.lower()
        if _MEAL.search(core) and not _PREP_BEFORE.search(text[:start]):
            continue  # "the team dinner", "lunch talk": a meal, not a deadline
        if time_only and _RESCHEDULE_BEFORE.search(text[:start]):
            continue
        if "tonight" in lowered or re.search(r"\beod\b", lowered):
            has_time = False  # end of day, not parsedatetime's evening or 17:00
        for period, ends in _PERIOD_END.items():
            if lowered.endswith(period):
                moment, has_time = datetime.combine(moment.date(), ends), True
        if lowered in weekday_names() and moment.date() == now.date() + timedelta(days=7):
            moment = moment - timedelta(days=7)  # "by Thursday" said on a Thursday: today
        if not has_time:
            moment = datetime.combine(moment.date(), END_OF_DAY)
        if moment < now:
            if has_time and not context.hasDate:
                moment += timedelta(days=1)  # "3pm" said at 4pm means tomorrow
            elif not _YEAR.search(core) and moment.date() < now.date():
                try:
                    moment = moment.replace(year=moment.year + 1)
                except ValueError:
                    continue
            if moment.date() < now.date():
                continue
        offset = phrase.find(stripped)
        hits.append((start + offset, start + offset + len(stripped), moment, has_time, time_only))
    return hits


# -- choosing the deadline -------------------------------------------------------------------------

_PREP_BEFORE = re.compile(
    r"(?:\b(?:by|before|on|until|till|due(?:\s+(?:by|on|date))?|for|no\s+later\s+than|at|within"
    r"|first\s+thing|deadline(?:\s+is)?|eta)\s*:?\s+|@\s*)+$",
    re.IGNORECASE,
)
_ATTRIBUTIVE_BEFORE = re.compile(r"\b(?:the|a|this|our|every|each)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class _Raw:
    start: int
    end: int
    moment: datetime
    has_time: bool
    time_only: bool
    """Names a time of day but no day ("3pm", "COB", "EOD"): today unless a day is next to it."""


def _candidates(text: str, now: datetime) -> list[_Raw]:
    raw: list[_Raw] = []
    for pattern, kind in _grammar():
        for match in pattern.finditer(text):
            resolved = _grammar_moment(kind, match, now)
            if resolved is not None:
                time_only = (
                    kind in ("cob", "eod", "bare_hour") and "tonight" not in match.group(0).lower()
                )
                raw.append(_Raw(match.start(), match.end(), *resolved, time_only))
    for start, end, moment, has_time, time_only in _library_hits(text, now):
        overlapping = [r for r in raw if r.start < end and start < r.end]
        if all(start <= r.start and r.end <= end for r in overlapping) and (
            not overlapping or end - start > max(r.end - r.start for r in overlapping)
        ):
            raw = [r for r in raw if not (start <= r.start and r.end <= end)]
            raw.append(_Raw(start, end, moment, has_time, time_only))
    raw.sort(key=lambda r: (r.start, -(r.end - r.start)))
    return raw


def _join(day: _Raw, clock: _Raw) -> _Raw:
    """A day and a time of day next to each other ("Friday" "at 10am", "COB" "Friday")."""
    moment = datetime.combine(day.moment.date(), clock.moment.time())
    return _Raw(min(day.start, clock.start), max(day.end, clock.end), moment, clock.has_time, False)


def _hits(text: str, now: datetime) -> list[DateHit]:
    merged: list[_Raw] = []
    for candidate in _candidates(text, now):
        if merged:
            previous = merged[-1]
            if candidate.end <= previous.end:
                continue  # nested in a longer phrase ("4th" in "the 4th of December")
            adjacent = (
                candidate.start < previous.end
                or not text[previous.end : candidate.start]
                .strip(" ,")
                .lower()
                .removeprefix("at")
                .removeprefix("on")
                .strip()
            )
            if adjacent and previous.time_only != candidate.time_only:
                day, clock = (candidate, previous) if previous.time_only else (previous, candidate)
                merged[-1] = _join(day, clock)
                continue
            if adjacent and not previous.has_time and not candidate.time_only:
                # "Friday the 11th", "Monday, Dec 7": the second names the day exactly
                merged[-1] = _Raw(
                    previous.start, candidate.end, candidate.moment, candidate.has_time, False
                )
                continue
            if candidate.start < previous.end:
                continue
        merged.append(candidate)
    hits = [_with_preposition(text, r.start, r.end, r.moment, r.has_time) for r in merged]
    return [hit for hit in hits if hit is not None]


def _with_preposition(
    text: str, start: int, end: int, moment: datetime, has_time: bool
) -> DateHit | None:
    if _NOT_DEADLINE_BEFORE.search(text[:start]):
        return None
    if text[end : end + 2] in ("'s", "\u2019s"):
        return DateHit(start, end, moment, has_time, removable=False)
    if _ATTRIBUTIVE_BEFORE.search(text[:start]) and re.match(r"\s+[a-z]", text[end:]):
        return DateHit(start, end, moment, has_time, removable=False)
    preposition = _PREP_BEFORE.search(text[:start])
    if preposition:
        start = preposition.start()
    return DateHit(start, end, moment, has_time)


def find_deadline(
    text: str, now: datetime, preferred: tuple[int, int] | None = None
) -> DateHit | None:
    """The deadline phrase of ``text`` read against the naive local ``now``, or ``None``.

    The first phrase inside ``preferred`` (the first sentence's span) wins; otherwise the first
    phrase anywhere. A weekday used as an attribute ("the Monday demo") is not a deadline.
    """
    hits = [
        hit
        for hit in _hits(text, now)
        if hit.removable or text[hit.end : hit.end + 2] in ("'s", "\u2019s")
    ]
    if not hits:
        return None
    if preferred is not None:
        for hit in hits:
            if preferred[0] <= hit.start < preferred[1]:
                return hit
    return hits[0]
