"""Scope every plugin's PromQL to boss's own series: the build adds what plugins leave out.

Plugin authors write plain PromQL (``sum by (endpoint) (rate(http_requests_total[5m]))``);
whether that runs in a Prometheus that also scrapes other apps, staging beside production or
three replicas is the deployment's business. The build rewrites each expression's text with
the tokens of the PromQL reader (``promql.py``), so third-party plugins get the same scoping:

- rules (alerts, recording rules): ``job="<job>"`` goes into every vector selector that has
  no ``job`` matcher (Prometheus's and Alertmanager's own metrics are left alone); ``job`` and
  the deployment labels go into every ``by (...)`` and ``on (...)`` list and into every
  aggregation without a clause, so a target's ``environment`` survives to the alert;
  ``vector(s)`` becomes "``s`` for every deployment of the job", so ``or vector(0)``
  fallbacks keep the deployment labels;
- panels: ``job=~"$job"``, ``<label>=~"$<label>"`` and ``instance=~"$instance"`` go into
  every selector, and short fixed range windows become ``$__rate_interval``.

Every rewrite is idempotent: a label already there is not added again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from boss._specs import AlertRule, AlertTest, ExpectedAlert, RuleTest, Series
from boss.monitoring.catalogue import SELF_SERIES
from boss.monitoring.options import BuildOptions
from boss.monitoring.promql import AGGREGATIONS, Token, tokenize

__all__ = (
    "PANEL_WINDOW_MAX",
    "SELF_MONITORING_METRICS",
    "TEST_INSTANCE",
    "Scope",
    "deployment_values",
    "keeps_label",
    "panel_scope",
    "rule_scope",
    "scope_expr",
    "stamp_rule_tests",
)

SELF_MONITORING_METRICS = frozenset(SELF_SERIES)
"""Prometheus's and Alertmanager's own metrics: they select their own jobs, never boss's."""

PANEL_WINDOW_MAX = 300_000
"""Panel range windows up to 5 minutes (in ms) become ``$__rate_interval``; longer ones
(``[15m]`` smoothing of rare events, ``[1d]``) are a deliberate choice and stay."""

TEST_INSTANCE = "boss:8000"
"""The ``instance`` the build stamps onto rule-test input series that name none."""

_NO_LABELS_OUT = frozenset({"vector", "scalar", "time"})
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_SKIP_IDENTS = frozenset(
    {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left"}
    | {"group_right", "inf", "nan", "offset", "start", "end"}
)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a rewrite adds: selector matchers, grouping labels, window, vector presence."""

    matchers: tuple[tuple[str, str, str], ...]
    """``(label, op, value)`` put into every selector that has no matcher on ``label``."""
    group_labels: tuple[str, ...] = ()
    """Labels added to ``by``/``on`` lists and to aggregations without a clause."""
    presence: str | None = None
    """A selector present for every deployment; ``vector(s)`` is rewritten over it."""
    window: str | None = None
    """Replacement of range windows up to ``PANEL_WINDOW_MAX``."""
    skip: frozenset[str] = SELF_MONITORING_METRICS


def deployment_values(opts: BuildOptions) -> dict[str, str]:
    """The value of each deployment label in rule tests: the build's own where it has one."""
    known = {"cluster": opts.cluster, "environment": opts.environment}
    return {label: known.get(label, label) for label in opts.deployment_labels}


def rule_scope(opts: BuildOptions) -> Scope:
    """The rewrite of alert and recording-rule expressions."""
    group = ("job", *(label for label in opts.deployment_labels if label != "job"))
    return Scope(
        matchers=(("job", "=", opts.job),),
        group_labels=group,
        presence=f'up{{job="{opts.job}"}}',
    )


def panel_scope(opts: BuildOptions) -> Scope:
    """The rewrite of panel queries: the dashboard's variables and ``$__rate_interval``."""
    labels = ("job", *opts.deployment_labels, "instance")
    return Scope(
        matchers=tuple((label, "=~", f"${label}") for label in dict.fromkeys(labels)),
        window="$__rate_interval",
    )


def _duration_ms(text: str) -> int:
    total, number = 0, ""
    rest = text.strip()
    while rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if not digits:
            return -1
        number, rest = rest[:digits], rest[digits:]
        unit = "ms" if rest.startswith("ms") else rest[:1]
        if unit not in _UNIT_MS:
            return -1
        total += int(number) * _UNIT_MS[unit]
        rest = rest[len(unit) :]
    return total if number else -1


def _close(toks: Sequence[Token], i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    opening = toks[i].text
    closing = {"(": ")", "{": "}", "[": "]"}[opening]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind != "op":
            continue
        if toks[j].text == opening:
            depth += 1
        elif toks[j].text == closing:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _label_names(toks: Sequence[Token], start: int, end: int) -> list[str]:
    return [t.text for t in toks[start + 1 : end] if t.kind == "ident"]


class _Edits:
    """Text insertions and replacements, applied back to front."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []

    def add(self, start: int, end: int, text: str) -> None:
        self.items.append((start, end, text))

    def apply(self, expr: str) -> str:
        for start, end, text in sorted(self.items, key=lambda e: (e[0], e[1]), reverse=True):
            expr = expr[:start] + text + expr[end:]
        return expr


def _extend_list(toks: Sequence[Token], open_i: int, labels: Iterable[str], edits: _Edits) -> int:
    """Add missing ``labels`` to the ``(...)`` list opening at ``open_i``; return its end."""
    close_i = _close(toks, open_i)
    have = set(_label_names(toks, open_i, close_i))
    missing = [label for label in labels if label not in have]
    if missing:
        sep = ", " if have else ""
        edits.add(toks[close_i].pos, toks[close_i].pos, sep + ", ".join(missing))
    return close_i


def scope_expr(expr: str, scope: Scope) -> str:
    """``expr`` rewritten by ``scope`` (see the module docstring); idempotent."""
    toks = tokenize(expr)
    edits = _Edits()
    handled: set[int] = set()  # label lists already dealt with (trailing ``sum(x) by (a)``)
    labels = scope.group_labels
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "ident" and tok.text in ("by", "without", "on", "ignoring"):
            if nxt is not None and nxt.text == "(":
                if i + 1 not in handled and tok.text in ("by", "on") and labels:
                    _extend_list(toks, i + 1, labels, edits)
                i = _close(toks, i + 1) + 1
                continue
            i += 1
            continue
        if tok.kind == "ident" and tok.text in ("group_left", "group_right"):
            i = _close(toks, i + 1) + 1 if nxt is not None and nxt.text == "(" else i + 1
            continue
        if tok.kind == "ident" and tok.text == "offset":
            i += 2 if nxt is not None and nxt.text != "-" else 3
            if i < len(toks) and toks[i].kind == "ident":
                i += 1
            continue
        if tok.kind == "op" and tok.text == "@":
            i += 2
            if i < len(toks) and toks[i].text == "(":
                i += 2
            continue
        if tok.kind == "ident" and tok.text in AGGREGATIONS and nxt is not None:
            if nxt.text in ("by", "without"):
                if nxt.text == "by" and labels:
                    _extend_list(toks, i + 2, labels, edits)
                handled.add(i + 2)
                i = _close(toks, i + 2) + 1
                continue
            if nxt.text == "(":
                end = _close(toks, i + 1)
                after = toks[end + 1] if end + 1 < len(toks) else None
                if after is not None and after.text in ("by", "without"):
                    if after.text == "by" and labels:
                        _extend_list(toks, end + 2, labels, edits)
                    handled.add(end + 2)
                elif labels:
                    end_of_name = tok.pos + len(tok.text)
                    space = "" if nxt.pos > end_of_name else " "
                    edits.add(end_of_name, end_of_name, f" by ({', '.join(labels)}){space}")
                i += 1
                continue
        if tok.kind == "ident" and nxt is not None and nxt.text == "(":
            if tok.text == "vector" and scope.presence and labels:
                end = _close(toks, i + 1)
                edits.add(
                    tok.pos,
                    nxt.pos + 1,
                    f"(0 * group by ({', '.join(labels)}) ({scope.presence}) + (",
                )
                edits.add(toks[end].pos, toks[end].pos, ")")
            i += 1
            continue
        if tok.kind == "ident" and tok.text.lower() in _SKIP_IDENTS:
            i += 1
            continue
        if tok.kind == "ident" or (tok.kind == "op" and tok.text == "{"):
            i = _selector(toks, i, scope, edits)
            continue
        if tok.kind == "op" and tok.text == "[":
            i = _close(toks, i) + 1
            continue
        i += 1
    return edits.apply(expr)


def _selector(toks: Sequence[Token], i: int, scope: Scope, edits: _Edits) -> int:
    """Scope the selector starting at ``i``; return the index after it (and its range)."""
    tok = toks[i]
    name = tok.text if tok.kind == "ident" else None
    j = i + 1 if name is not None else i
    have: set[str] = set()
    brace: tuple[int, int] | None = None
    if j < len(toks) and toks[j].text == "{":
        end = _close(toks, j)
        for k in range(j + 1, end):
            if (
                toks[k].kind == "ident"
                and k + 1 < end
                and toks[k + 1].text in ("=", "!=", "=~", "!~")
            ):
                have.add(toks[k].text)
                if toks[k].text == "__name__" and name is None and k + 2 < end:
                    name = toks[k + 2].text.strip("\"'`")
        brace = (j, end)
        j = end + 1
    if name not in scope.skip:
        missing = [
            f'{label}{op}"{value}"' for label, op, value in scope.matchers if label not in have
        ]
        if missing:
            if brace is None:
                edits.add(
                    tok.pos + len(tok.text), tok.pos + len(tok.text), "{" + ", ".join(missing) + "}"
                )
            else:
                close = toks[brace[1]]
                sep = ", " if have else ""
                edits.add(close.pos, close.pos, sep + ", ".join(missing))
    if j < len(toks) and toks[j].text == "[":
        end = _close(toks, j)
        if scope.window is not None and end > j + 1:
            first, last = toks[j + 1], toks[end - 1]
            inner_start, inner_end = first.pos, last.pos + len(last.text)
            inner = "".join(t.text for t in toks[j + 1 : end])
            ms = _duration_ms(inner)
            if ":" not in inner and 0 < ms <= PANEL_WINDOW_MAX:
                edits.add(inner_start, inner_end, scope.window)
        j = end + 1
    return j


def keeps_label(expr: str, label: str, records: Mapping[str, str] | None = None) -> bool:
    """Whether ``label`` of the input series can reach the result of ``expr``.

    A cautious reading, used to stamp rule tests' expected labels: any aggregation that does
    not keep ``label`` (``by`` without it, ``without`` naming it), a function whose result
    has no series labels (``vector``, ``scalar``) or a recorded series (``records``: name to
    expression) whose rule drops it counts as dropping it.
    """
    records = records or {}
    toks = tokenize(expr)
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "ident" and tok.text in records and (nxt is None or nxt.text != "("):
            inner = {k: v for k, v in records.items() if k != tok.text}
            if not keeps_label(records[tok.text], label, inner):
                return False
        if tok.kind != "ident" or nxt is None:
            continue
        if tok.text in _NO_LABELS_OUT and nxt.text == "(":
            return False
        if tok.text in AGGREGATIONS:
            if nxt.text in ("by", "without"):
                names = _label_names(toks, i + 2, _close(toks, i + 2))
            elif nxt.text == "(":
                end = _close(toks, i + 1)
                after = toks[end + 1] if end + 1 < len(toks) else None
                if after is None or after.text not in ("by", "without"):
                    return False
                nxt = after
                names = _label_names(toks, end + 2, _close(toks, end + 2))
            else:
                continue
            if (nxt.text == "by") != (label in names):
                return False
    return True


def _stamp_series(series: str, values: dict[str, str]) -> str:
    scope = Scope(matchers=tuple((k, "=", v) for k, v in values.items()), skip=frozenset())
    return scope_expr(series, scope)


def _samples(test: RuleTest) -> int:
    step = _duration_ms(test.interval) or 60_000
    last = max((_duration_ms(case.eval_time) for case in test.alert_rule_test), default=0)
    return max(last // step + 10, 10)


def stamp_rule_tests(
    tests: Sequence[RuleTest],
    alerts: Sequence[AlertRule],
    opts: BuildOptions,
    records: Mapping[str, str] | None = None,
) -> tuple[RuleTest, ...]:
    """Rule tests as the scoped rules see them.

    Input series lacking ``job``, ``instance`` or a deployment label get the build's values
    (``opts.job``, ``TEST_INSTANCE``, ``deployment_values``); expected alerts get those the
    scoped alert keeps (``keeps_label``) unless the test names them (only ``job`` where
    the expected alert says ``deployment=False``). Where the plugin's rules
    use ``vector(...)`` and a test has no ``up`` series, one healthy boss target is added,
    since the scoped ``vector`` is taken over the job's targets.
    """
    stamps = {"job": opts.job, "instance": TEST_INSTANCE, **deployment_values(opts)}
    scope = rule_scope(opts)
    scoped = {alert.name: scope_expr(alert.expr, scope) for alert in alerts}
    uses_vector = any("vector" in alert.expr for alert in alerts)
    out = []
    for test in tests:
        series = [
            Series(series=_stamp_series(s.series, stamps), values=s.values)
            for s in test.input_series
        ]
        if uses_vector and not any(s.series.lstrip().startswith("up") for s in test.input_series):
            up = _stamp_series("up", stamps)
            series.append(Series(series=up, values=f"1x{_samples(test)}"))
        cases = []
        for case in test.alert_rule_test:
            expr = scoped.get(case.alertname)
            kept = {
                k: v
                for k, v in stamps.items()
                if expr is not None and keeps_label(expr, k, records)
            }
            cases.append(
                AlertTest(
                    eval_time=case.eval_time,
                    alertname=case.alertname,
                    exp_alerts=tuple(
                        ExpectedAlert(
                            exp_labels={
                                **(kept if exp.deployment else {"job": opts.job}),
                                **exp.exp_labels,
                            },
                            exp_annotations=exp.exp_annotations,
                        )
                        for exp in case.exp_alerts
                    ),
                )
            )
        out.append(
            RuleTest(
                name=test.name,
                input_series=tuple(series),
                alert_rule_test=tuple(cases),
                interval=test.interval,
                evaluation_interval=test.evaluation_interval,
            )
        )
    return tuple(out)
