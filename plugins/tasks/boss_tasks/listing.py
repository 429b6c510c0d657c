"""Task listings: the filters, the sort orders and the opaque keyset cursor of ``GET /tasks``.

Every sort has ``number`` (the id) as its tie-breaker, in the same direction, so the order
is total and a cursor (the sort key of the last task seen) continues exactly where the
page ended even while tasks are added. Tasks without a deadline come last in both
directions of the ``deadline`` sort. ``created_at`` sorts by the id, which numbers tasks
in the order they were stored (under concurrent creates two timestamps taken just before
their transactions can disagree with it by a few milliseconds). A cursor is bound to its filters and sort: reusing it
on another query is an error rather than a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import msgspec
from sqlalchemy import ColumnElement, and_, bindparam, func, or_, tuple_
from sqlalchemy.sql.elements import UnaryExpression

from boss_tasks.errors import InvalidTaskInput
from boss_tasks.tables import tasks
from boss_tasks.workflow import PRIORITIES, TERMINAL

__all__ = (
    "DEFAULT_SORT",
    "SORTS",
    "Sort",
    "TaskQuery",
    "decode_cursor",
    "encode_cursor",
    "priority_rank",
)

Sort = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "deadline",
    "-deadline",
    "priority",
    "-priority",
]
SORTS: tuple[str, ...] = get_args(Sort)
DEFAULT_SORT: Sort = "-created_at"
_COLUMNS = {
    "created_at": tasks.c.number,  # creation order is the id order (see the module docstring)
    "updated_at": tasks.c.updated_at,
    "deadline": tasks.c.deadline,
    "priority": tasks.c.priority_rank,
}


def priority_rank(priority: str) -> int:
    """``low`` 0, ``medium`` 1, ``high`` 2, ``urgent`` 3: the stored sort key of a priority."""
    return PRIORITIES.index(priority)


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class TaskQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What a listing asks for: filters (each list means "any of") and the sort order."""

    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assignee: tuple[str, ...] = ()
    """Matched case-insensitively."""
    unassigned: bool | None = None
    """``True``: tasks without assignee (or, with ``assignee``, also those); ``False``: with one."""
    q: str | None = None
    """Case-insensitive substring of the title or the description."""
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    """Deadline passed and neither completed nor cancelled (``False``: everything else)."""
    updated_since: datetime | None = None
    sort: str = DEFAULT_SORT

    def fingerprint(self) -> str:
        """A short digest of the filters and sort (binds a cursor to its query)."""
        encoded = msgspec.json.encode(self, order="sorted")
        return hashlib.sha256(encoded).hexdigest()[:16]

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        """The ``WHERE`` clauses of the filters (deleted tasks are always left out)."""
        c = tasks.c
        out: list[ColumnElement[bool]] = [c.deleted_at.is_(None)]
        if self.status:
            out.append(c.status.in_(self.status))
        if self.priority:
            out.append(c.priority.in_(self.priority))
        who: list[ColumnElement[bool]] = []
        if self.assignee:
            who.append(func.lower(c.assignee).in_(sorted({a.lower() for a in self.assignee})))
        if self.unassigned is True:
            who.append(c.assignee.is_(None))
        if who:
            out.append(or_(*who))
        if self.unassigned is False:
            out.append(c.assignee.is_not(None))
        if self.q:
            pattern = _like_pattern(self.q)
            out.append(
                or_(
                    func.lower(c.title).like(pattern, escape="\\"),
                    func.lower(c.description).like(pattern, escape="\\"),
                )
            )
        if self.due_before is not None:
            out.append(c.deadline < self.due_before)
        if self.due_after is not None:
            out.append(c.deadline > self.due_after)
        if self.overdue is not None:
            overdue = and_(c.deadline < now, c.status.not_in(sorted(TERMINAL)))
            out.append(overdue if self.overdue else or_(c.deadline.is_(None), ~overdue))
        if self.updated_since is not None:
            out.append(c.updated_at >= self.updated_since)
        return out

    @property
    def descending(self) -> bool:
        """Whether the sort runs from high to low."""
        return self.sort.startswith("-")

    @property
    def _name(self) -> str:
        return self.sort.removeprefix("-")

    def order_by(self) -> list[UnaryExpression[Any]]:
        """``ORDER BY`` of the sort: its column, then the id, both in the sort's direction."""
        column = _COLUMNS[self._name]
        number = tasks.c.number
        if column is number:
            return [number.desc() if self.descending else number.asc()]
        if self.descending:
            first = column.desc().nulls_last() if self._name == "deadline" else column.desc()
            return [first, number.desc()]
        return [
            column.asc().nulls_last() if self._name == "deadline" else column.asc(),
            number.asc(),
        ]

    def key_of(self, row: Any) -> list[Any]:
        """The sort key of a row, as stored in a cursor: ``[value, number]``."""
        value = getattr(row, _COLUMNS[self._name].name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        return [value, row.number]

    def after(self, key: list[Any]) -> ColumnElement[bool]:
        """Rows that come after the row with sort ``key`` in this order."""
        column = _COLUMNS[self._name]
        value, number = key
        if self._name in ("updated_at", "deadline") and value is not None:
            value = datetime.fromisoformat(value)
        if value is None:  # only deadline is nullable; nulls come last
            beyond = tasks.c.number < number if self.descending else tasks.c.number > number
            return and_(column.is_(None), beyond)
        pair = tuple_(column, tasks.c.number)
        bound = tuple_(_typed(column, value), _typed(tasks.c.number, number))
        later = pair < bound if self.descending else pair > bound
        if self._name == "deadline":
            return or_(column.is_(None), later)
        return later


def _typed(column: Any, value: Any) -> Any:
    """A bind parameter typed like ``column`` (so SQLite compares dates as it stores them)."""
    return bindparam(None, value, type_=column.type)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def encode_cursor(query: TaskQuery, key: list[Any]) -> str:
    """An opaque cursor: the sort key of the last task of a page, bound to ``query``."""
    return _b64(msgspec.json.encode({"f": query.fingerprint(), "k": key}))


class _Cursor(msgspec.Struct):
    f: str
    k: tuple[str | int | None, int]


def decode_cursor(query: TaskQuery, cursor: str) -> list[Any]:
    """The sort key in ``cursor``; ``InvalidTaskInput`` when malformed or from another query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = msgspec.json.decode(raw, type=_Cursor)
        value, number = parsed.k
        if isinstance(value, str):
            datetime.fromisoformat(value)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidTaskInput(
            "cursor", "not a cursor this API handed out", source="query"
        ) from None
    if parsed.f != query.fingerprint():
        raise InvalidTaskInput(
            "cursor",
            "belongs to a listing with other filters or another sort; start without a cursor",
            source="query",
        )
    return [value, number]
