"""A small PromQL reader that finds which series and labels a query refers to.

It is not a PromQL parser: promtool decides whether a query is valid PromQL. This reader
only has to be exact about the parts the build validates against the plugins' metric specs
— vector selectors and their matchers, grouping clauses (``by``, ``without``, ``on``,
``ignoring``, ``group_left``, ``group_right``) and the label-name arguments of
``label_replace``, ``label_join``, ``count_values`` and ``sort_by_label`` — so that a typo in
a metric or label name fails the build with the plugin, the fragment and the unknown name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = (
    "AGGREGATIONS",
    "PromQLReadError",
    "QueryRefs",
    "Selector",
    "Token",
    "read_query",
    "read_series",
    "tokenize",
)


class PromQLReadError(ValueError):
    """The query cannot even be tokenized (unclosed bracket or string, stray character)."""


@dataclass(frozen=True, slots=True)
class Selector:
    """One vector selector: the series name (``None`` without one) and its matcher labels."""

    metric: str | None
    labels: tuple[str, ...]


@dataclass(slots=True)
class QueryRefs:
    """Everything a query refers to by name."""

    selectors: list[Selector] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)
    """Labels named in by/without/on/ignoring/group_left/group_right clauses."""
    used: set[str] = field(default_factory=set)
    """Existing labels read by functions (label_replace's source, label_join's sources)."""
    created: set[str] = field(default_factory=set)
    """Labels a function creates (label_replace/label_join destination, count_values)."""

    @property
    def metrics(self) -> list[str]:
        """The series names the query selects, in order of appearance."""
        return [s.metric for s in self.selectors if s.metric is not None]


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<var>\$(?:\{[^}]*\}|[a-zA-Z0-9_]+))
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "start", "end"}
)
_AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
)
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_MATCH_OPS = frozenset({"=", "!=", "=~", "!~"})
_CLOSE = {"(": ")", "{": "}", "[": "]"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(expr: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise PromQLReadError(f"unexpected character {expr[pos]!r} at offset {pos}")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    if text[0] == "`":
        return body
    return re.sub(r"\\(.)", r"\1", body)


def _check_balance(toks: list[_Tok]) -> None:
    stack: list[_Tok] = []
    for tok in toks:
        if tok.text in _CLOSE and tok.kind == "op":
            stack.append(tok)
        elif tok.kind == "op" and tok.text in (")", "}", "]"):
            if not stack or _CLOSE[stack[-1].text] != tok.text:
                raise PromQLReadError(f"unbalanced {tok.text!r} at offset {tok.pos}")
            stack.pop()
    if stack:
        raise PromQLReadError(f"unclosed {stack[-1].text!r} at offset {stack[-1].pos}")


def _matchers(toks: list[_Tok], i: int) -> tuple[list[tuple[str, str, str]], int]:
    """Read ``{name op "value", …}`` starting at the ``{`` at ``i``; return the end index."""
    found: list[tuple[str, str, str]] = []
    i += 1
    while i < len(toks) and toks[i].text != "}":
        name, op = toks[i], toks[i + 1] if i + 1 < len(toks) else None
        value = toks[i + 2] if i + 2 < len(toks) else None
        if (
            name.kind != "ident"
            or op is None
            or op.text not in _MATCH_OPS
            or value is None
            or value.kind != "string"
        ):
            raise PromQLReadError(f"malformed label matcher at offset {name.pos}")
        found.append((name.text, op.text, _unquote(value.text)))
        i += 3
        if i < len(toks) and toks[i].text == ",":
            i += 1
    return found, i + 1


def _label_list(toks: list[_Tok], i: int) -> tuple[list[str], int]:
    """Read ``(a, b, …)`` starting at the ``(`` at ``i``; return the end index."""
    names: list[str] = []
    i += 1
    while i < len(toks) and toks[i].text != ")":
        if toks[i].kind == "ident":
            names.append(toks[i].text)
        elif toks[i].text != ",":
            raise PromQLReadError(
                f"unexpected {toks[i].text!r} in a label list at offset {toks[i].pos}"
            )
        i += 1
    return names, i + 1


def _skip_brackets(toks: list[_Tok], i: int) -> int:
    depth = 0
    while i < len(toks):
        if toks[i].text == "[":
            depth += 1
        elif toks[i].text == "]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _selector(name: str | None, matchers: list[tuple[str, str, str]]) -> Selector:
    labels = []
    for label, op, value in matchers:
        if label == "__name__":
            if op == "=" and name is None:
                name = value
            continue
        labels.append(label)
    return Selector(metric=name, labels=tuple(labels))


def read_query(expr: str) -> QueryRefs:
    """The selectors, grouping labels and function label arguments of a PromQL query."""
    toks = _tokens(expr)
    _check_balance(toks)
    refs = QueryRefs()
    calls: list[tuple[str, int, int]] = []  # (function, paren depth inside it, argument index)
    depth = 0
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "ident" and tok.text in _GROUPING:
            if nxt is not None and nxt.text == "(":
                names, i = _label_list(toks, i + 1)
                refs.grouping.update(names)
                continue
            i += 1
            continue
        if tok.kind == "ident" and tok.text == "offset":
            i += 2 if nxt is not None and nxt.text != "-" else 3  # skip the duration
            if i < len(toks) and toks[i].kind == "ident":
                i += 1  # "5m" tokenizes as number + ident
            continue
        if tok.kind == "op" and tok.text == "@":
            i += 2
            if i < len(toks) and toks[i].text == "(":
                i += 2  # start() / end()
            continue
        if (
            tok.kind == "ident"
            and tok.text in _AGGREGATIONS
            and nxt is not None
            and nxt.text in ("by", "without")
        ):
            names, j = _label_list(toks, i + 2)
            refs.grouping.update(names)
            if j < len(toks) and toks[j].text == "(":
                calls.append((tok.text, depth + 1, 0))
                depth += 1
                j += 1
            i = j
            continue
        if tok.kind == "ident" and nxt is not None and nxt.text == "(":
            calls.append((tok.text, depth + 1, 0))
            depth += 1
            i += 2
            continue
        if tok.kind == "ident" and tok.text.lower() in _KEYWORDS:
            i += 1
            continue
        if tok.kind == "ident" or (tok.kind == "op" and tok.text == "{"):
            name = tok.text if tok.kind == "ident" else None
            j = i + 1 if tok.kind == "ident" else i
            matchers: list[tuple[str, str, str]] = []
            if j < len(toks) and toks[j].text == "{":
                matchers, j = _matchers(toks, j)
            refs.selectors.append(_selector(name, matchers))
            i = j
            continue
        if tok.text == "[":
            i = _skip_brackets(toks, i)
            continue
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            if calls and calls[-1][1] == depth:
                calls.pop()
            depth -= 1
        elif tok.text == "," and calls and calls[-1][1] == depth:
            func, d, arg = calls[-1]
            calls[-1] = (func, d, arg + 1)
        elif tok.kind == "string" and calls and calls[-1][1] == depth:
            _string_argument(refs, calls[-1][0], calls[-1][2], _unquote(tok.text))
        i += 1
    return refs


def _string_argument(refs: QueryRefs, func: str, arg: int, value: str) -> None:
    if func == "label_replace":
        if arg == 1:
            refs.created.add(value)
        elif arg == 3:
            refs.used.add(value)
    elif func == "label_join":
        if arg == 1:
            refs.created.add(value)
        elif arg >= 3:
            refs.used.add(value)
    elif func == "count_values" and arg == 0:
        refs.created.add(value)
    elif func in ("sort_by_label", "sort_by_label_desc") and arg >= 1:
        refs.used.add(value)


def read_series(series: str) -> Selector:
    """The name and labels of a rule-test input series (``name{label="value", …}``)."""
    refs = read_query(series)
    if len(refs.selectors) != 1 or refs.selectors[0].metric is None:
        raise PromQLReadError(f"{series!r} is not a single series with a name")
    return refs.selectors[0]


Token = _Tok
"""One token of a query: ``kind`` (ident, string, number, var, op), ``text`` and offset ``pos``."""
AGGREGATIONS = _AGGREGATIONS
"""Names of PromQL's aggregation operators (they take ``by``/``without`` clauses)."""


def tokenize(expr: str) -> list[Token]:
    """The tokens of ``expr`` without white space and comments, brackets checked for balance."""
    toks = _tokens(expr)
    _check_balance(toks)
    return toks
