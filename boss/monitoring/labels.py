"""Which labels a PromQL expression's result carries, computed along its syntax tree.

``boss.monitoring.promql`` finds the names a query mentions; this module follows how each
operation changes the label set — aggregations keep their ``by`` labels or drop their
``without`` ones, ``histogram_quantile`` drops ``le``, ``label_replace`` adds its
destination, binary operators follow their matching — so a recording rule's output labels
are exact and a grouping on a label the input no longer has is found at build time.
It trusts promtool for syntax: anything it cannot follow yields "unknown" (``None``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from boss.monitoring.promql import (
    _AGGREGATIONS,
    PromQLReadError,
    _check_balance,
    _matchers,
    _Tok,
    _tokens,
    _unquote,
)

__all__ = ("LabelFlow", "Lookup", "result_labels")

Lookup = Callable[[str], frozenset[str] | None]
"""The labels of a selected series name (``None``: unknown, any label may appear)."""

Labels = frozenset[str] | None

_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    "<=": 3,
    "<": 3,
    ">=": 3,
    ">": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_SCALAR_FUNCS = frozenset({"scalar", "time", "pi"})
_NO_LABEL_FUNCS = frozenset(
    {"vector", "day_of_month", "day_of_week", "day_of_year", "days_in_month"}
    | {"hour", "minute", "month", "year"}
)


@dataclass(frozen=True, slots=True)
class _Value:
    scalar: bool
    labels: Labels
    matchers: frozenset[str] = frozenset()
    """For a plain selector: its ``=`` matcher labels (what ``absent`` keeps)."""


@dataclass(slots=True)
class LabelFlow:
    """The result of following a query: its output labels and the problems found on the way."""

    labels: Labels
    scalar: bool = False
    problems: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, toks: list[_Tok], lookup: Lookup, always: frozenset[str]) -> None:
        self.toks = toks
        self.i = 0
        self.lookup = lookup
        self.always = always
        self.problems: list[str] = []

    def peek(self, ahead: int = 0) -> _Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise PromQLReadError("unexpected end of query")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise PromQLReadError(f"expected {text!r} at offset {tok.pos}, got {tok.text!r}")

    def label_list(self) -> list[str]:
        self.expect("(")
        names: list[str] = []
        while (tok := self.take()).text != ")":
            if tok.kind in ("ident", "string"):
                names.append(_unquote(tok.text) if tok.kind == "string" else tok.text)
        return names

    # expressions -----------------------------------------------------------------------

    def expr(self, min_prec: int = 1) -> _Value:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None:
                return left
            op = tok.text.lower() if tok.kind == "ident" else tok.text
            prec = _PRECEDENCE.get(op) if tok.kind in ("op", "ident") else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            matching = self.matching()
            right = self.expr(prec if op == "^" else prec + 1)
            left = self.binary(op, left, right, matching)

    def matching(self) -> tuple[str, list[str], str, list[str]]:
        """``bool``, ``on``/``ignoring`` and ``group_left``/``group_right`` after an operator."""
        kind, names, group, include = "", [], "", []
        tok = self.peek()
        if tok is not None and tok.text == "bool":
            self.take()
            tok = self.peek()
        if tok is not None and tok.text in ("on", "ignoring"):
            kind = self.take().text
            names = self.label_list()
            tok = self.peek()
        if tok is not None and tok.text in ("group_left", "group_right"):
            group = self.take().text
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                include = self.label_list()
        return kind, names, group, include

    def binary(
        self, op: str, left: _Value, right: _Value, matching: tuple[str, list[str], str, list[str]]
    ) -> _Value:
        if left.scalar and right.scalar:
            return _Value(True, frozenset())
        if left.scalar or right.scalar:
            return right if left.scalar else left
        kind, names, group, include = matching
        for side in (left, right):
            if kind == "on" and side.labels is not None:
                for name in names:
                    if name not in side.labels:
                        self.problems.append(
                            f"'{kind} ({', '.join(names)})' names label {name!r}, which one "
                            f"side of the {op!r} does not have (it has: {_show(side.labels)})"
                        )
                        break
        if op in ("and", "unless"):
            return _Value(False, left.labels)
        if op == "or":
            if left.labels is None or right.labels is None:
                return _Value(False, None)
            return _Value(False, left.labels | right.labels)
        if group == "group_left":
            return _Value(False, None if left.labels is None else left.labels | set(include))
        if group == "group_right":
            return _Value(False, None if right.labels is None else right.labels | set(include))
        if kind == "on":
            return _Value(False, frozenset(names))
        if left.labels is None:
            return _Value(False, None)
        if kind == "ignoring":
            return _Value(False, left.labels - set(names))
        return _Value(False, left.labels)

    def unary(self) -> _Value:
        tok = self.peek()
        if tok is not None and tok.text in ("-", "+"):
            self.take()
            return self.unary()
        return self.postfix(self.primary())

    def postfix(self, value: _Value) -> _Value:
        while (tok := self.peek()) is not None:
            if tok.text == "[":
                depth = 0
                while True:
                    t = self.take()
                    depth += {"[": 1, "]": -1}.get(t.text, 0)
                    if depth == 0:
                        break
                value = _Value(value.scalar, value.labels)
            elif tok.kind == "ident" and tok.text == "offset":
                self.take()
                if (nxt := self.peek()) is not None and nxt.text == "-":
                    self.take()
                while (nxt := self.peek()) is not None and (
                    nxt.kind == "number"
                    or (
                        (nxt.kind == "ident" and nxt.text.lower() not in _PRECEDENCE)
                        and self.toks[self.i - 1].kind == "number"
                    )
                ):
                    self.take()
            elif tok.text == "@":
                self.take()
                nxt = self.take()
                if nxt.kind == "ident":  # start() / end()
                    self.expect("(")
                    self.expect(")")
            else:
                return value
        return value

    def primary(self) -> _Value:
        tok = self.take()
        nxt = self.peek()
        if tok.kind in ("number", "string"):
            return _Value(True, frozenset())
        if tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind == "ident" and tok.text.lower() in ("inf", "nan"):
            return _Value(True, frozenset())
        if (
            tok.kind == "ident"
            and tok.text in _AGGREGATIONS
            and nxt is not None
            and nxt.text in ("by", "without", "(")
        ):
            return self.aggregation(tok.text)
        if tok.kind == "ident" and nxt is not None and nxt.text == "(":
            return self.call(tok.text)
        if tok.kind == "ident" or tok.text == "{":
            name = tok.text if tok.kind == "ident" else None
            if tok.text == "{":
                self.i -= 1
            found: list[tuple[str, str, str]] = []
            if (brace := self.peek()) is not None and brace.text == "{":
                found, self.i = _matchers(self.toks, self.i)
            for label, op, value in found:
                if label == "__name__" and op == "=" and name is None:
                    name = value
            labels = self.lookup(name) if name is not None else None
            if labels is not None:
                labels = labels | self.always
            eq = frozenset(label for label, op, _ in found if op == "=" and label != "__name__")
            return _Value(False, labels, eq)
        raise PromQLReadError(f"unexpected {tok.text!r} at offset {tok.pos}")

    def args(self) -> list[_Value]:
        self.expect("(")
        out: list[_Value] = []
        if (tok := self.peek()) is not None and tok.text == ")":
            self.take()
            return out
        while True:
            out.append(self.expr())
            tok = self.take()
            if tok.text == ")":
                return out
            if tok.text != ",":
                raise PromQLReadError(f"expected ',' or ')' at offset {tok.pos}")

    def string_args(self) -> list[str]:
        """The string literals among the next call's arguments (peeked, not consumed)."""
        depth, found = 0, []
        for tok in self.toks[self.i :]:
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
                if depth == 0:
                    break
            elif tok.kind == "string" and depth == 1:
                found.append(_unquote(tok.text))
        return found

    def aggregation(self, op: str) -> _Value:
        clause, names = "", []
        if (tok := self.peek()) is not None and tok.text in ("by", "without"):
            clause = self.take().text
            names = self.label_list()
        strings = self.string_args()
        args = self.args()
        if (tok := self.peek()) is not None and tok.text in ("by", "without"):
            clause = self.take().text
            names = self.label_list()
        vector = args[-1] if args else _Value(False, None)
        if clause == "by" and vector.labels is not None:
            for name in names:
                if name not in vector.labels:
                    self.problems.append(
                        f"'{op} by ({', '.join(names)})' groups by {name!r}, which its input "
                        f"does not have (it has: {_show(vector.labels)})"
                    )
        if op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return _Value(False, vector.labels)
        extra = frozenset(strings[:1]) if op == "count_values" else frozenset()
        if clause == "by":
            return _Value(False, frozenset(names) | extra)
        if clause == "without":
            if vector.labels is None:
                return _Value(False, None)
            return _Value(False, (vector.labels - set(names)) | extra)
        return _Value(False, extra)

    def call(self, func: str) -> _Value:
        strings = self.string_args()
        args = self.args()
        vectors = [a for a in args if not a.scalar]
        first = vectors[0] if vectors else _Value(False, frozenset())
        if func in _SCALAR_FUNCS:
            return _Value(True, frozenset())
        if func == "vector":
            return _Value(False, frozenset())
        if func in ("absent", "absent_over_time"):
            return _Value(False, first.matchers)
        if func == "histogram_quantile":
            if first.labels is not None and "le" not in first.labels:
                self.problems.append(
                    "histogram_quantile needs the 'le' label in its input; aggregate with "
                    f"'by (le, …)' (its input has: {_show(first.labels)})"
                )
            return _Value(False, None if first.labels is None else first.labels - {"le"})
        if func in ("label_replace", "label_join"):
            if first.labels is None:
                return _Value(False, None)
            sources = strings[2:3] if func == "label_replace" else strings[2:]
            for source in sources:
                if source and source not in first.labels:
                    self.problems.append(
                        f"{func} reads label {source!r}, which its input does not have "
                        f"(it has: {_show(first.labels)})"
                    )
            return _Value(False, first.labels | set(strings[:1]))
        if not vectors and func in _NO_LABEL_FUNCS:
            return _Value(False, frozenset())
        return _Value(False, first.labels)


def _show(labels: frozenset[str]) -> str:
    return ", ".join(sorted(labels)) or "no labels"


def result_labels(expr: str, lookup: Lookup, always: frozenset[str] = frozenset()) -> LabelFlow:
    """The labels of ``expr``'s result (``None`` when unknown) and label problems on the way.

    ``lookup`` gives each selected series' labels; ``always`` are added to every selector
    (target and external labels). Raises ``PromQLReadError`` when the query cannot be followed.
    """
    toks = _tokens(expr)
    _check_balance(toks)
    parser = _Parser(toks, lookup, always)
    value = parser.expr()
    if parser.peek() is not None:
        tok = parser.take()
        raise PromQLReadError(f"unexpected {tok.text!r} at offset {tok.pos}")
    return LabelFlow(value.labels, value.scalar, parser.problems)
