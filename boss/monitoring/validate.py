"""Validation of every plugin's fragments before anything is rendered or written.

Each finding names the plugin (and its entry point), the fragment and the problem; all
findings are reported together so one build run shows everything to fix.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import re
from collections.abc import Sequence
from pathlib import Path

import msgspec

from boss._specs import (
    DURATION_RE,
    METRIC_NAME_RE,
    SEVERITIES,
    SLO,
    SLO_NAME_RE,
    LatencySLI,
    RuleTest,
)
from boss.loader import LoadedPlugin
from boss.monitoring.catalogue import Catalogue
from boss.monitoring.errors import Problem
from boss.monitoring.labels import result_labels
from boss.monitoring.options import BuildOptions
from boss.monitoring.promql import PromQLReadError, _matchers, _tokens, read_query, read_series
from boss.monitoring.runbooks import runbook_files

__all__ = ("check_query", "expand_values", "is_url", "validate", "validate_slos")

_MAX_WIDTH = 24
ALWAYS_FIRING = "vector(1)"
"""The one expression allowed to select nothing: an alert that always fires (Watchdog)."""


def _hint(name: str, catalogue: Catalogue) -> str:
    if f"{name}_bucket" in catalogue.series:
        return f" (it is a histogram: use {name}_bucket, {name}_sum or {name}_count)"
    if f"{name}_total" in catalogue.series:
        return f" (did you mean {name}_total?)"
    close = difflib.get_close_matches(name, catalogue.known_names(), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def check_query(expr: str, catalogue: Catalogue) -> list[str]:
    """Problems with the metrics and labels ``expr`` refers to (empty when all exist)."""
    try:
        refs = read_query(expr)
    except PromQLReadError as exc:
        return [f"invalid PromQL {expr!r}: {exc}"]
    found: list[str] = []
    available: set[str] = set(catalogue.always) | refs.created
    any_label = False
    if not refs.selectors and expr.strip() != ALWAYS_FIRING:
        found.append(f"query {expr!r} selects no series")
    for sel in refs.selectors:
        if sel.metric is None:
            found.append(f"a selector without a metric name in {expr!r}")
            continue
        info = catalogue.get(sel.metric)
        if info is None:
            found.append(f"unknown metric {sel.metric!r}{_hint(sel.metric, catalogue)}")
            any_label = True  # do not pile label errors on top of a misspelt metric
            continue
        if info.labels is None:
            any_label = True
            continue
        available |= info.labels
        for label in sel.labels:
            if label not in info.labels and label not in catalogue.always:
                have = ", ".join(sorted(info.labels | catalogue.always))
                found.append(f"metric {sel.metric!r} has no label {label!r} (labels: {have})")
    if not any_label:
        for label in sorted(refs.grouping | refs.used):
            if label not in available:
                found.append(
                    f"unknown label {label!r}: no metric in the query carries it "
                    f"(available: {', '.join(sorted(available))})"
                )
    if not found:  # names exist: now follow the labels through every operation
        with contextlib.suppress(PromQLReadError):  # promtool reports the syntax
            found.extend(result_labels(expr, catalogue.labels_of, catalogue.always).problems)
    return found


def is_url(runbook: str) -> bool:
    """Whether an alert's ``runbook`` is a full URL (a third-party plugin's own docs)."""
    return runbook.startswith(("https://", "http://"))


def _duration(value: str) -> bool:
    return bool(DURATION_RE.match(value))


def validate(
    loaded: Sequence[LoadedPlugin],
    runbooks_dir: Path | None = None,
    deployment_labels: Sequence[str] = (),
) -> list[Problem]:
    """Every problem in the fragments of ``loaded`` (an empty list means the build may go on).

    ``runbooks_dir`` is the deployment's override folder for runbook pages (see
    ``boss.monitoring.runbooks``); pages are otherwise found in each plugin's package.
    ``deployment_labels`` are known on every series, like ``job`` and ``instance``.
    """
    catalogue = Catalogue(loaded, deployment_labels)
    problems: list[Problem] = list(runbook_files(loaded, runbooks_dir)[1])
    alert_owner: dict[str, LoadedPlugin] = {}
    record_owner: dict[str, LoadedPlugin] = {}
    declared = {
        sample
        for item in loaded
        for spec in item.plugin.metrics
        for sample in (spec.name, *spec.sample_names)
    }
    for item in loaded:
        where = item.where

        def add(fragment: str, message: str, where: str = where) -> None:
            problems.append(Problem(where, fragment, message))

        for alert in item.plugin.alerts:
            frag = f"alert {alert.name!r}"
            if alert.name in alert_owner:
                add(frag, f"duplicate alert name (also in {alert_owner[alert.name].where})")
            alert_owner.setdefault(alert.name, item)
            if alert.severity not in SEVERITIES:
                add(frag, f"unknown severity {alert.severity!r} (allowed: {', '.join(SEVERITIES)})")
            if not alert.summary.strip():
                add(frag, "missing summary")
            if not alert.description.strip():
                add(frag, "missing description")
            if not _duration(alert.for_):
                add(frag, f"invalid 'for' duration {alert.for_!r}")
            if "severity" in alert.labels:
                add(frag, "set the severity with 'severity', not in 'labels'")
            for message in check_query(alert.expr, catalogue):
                add(frag, message)
        for rule in item.plugin.recording_rules:
            frag = f"recording rule {rule.record!r}"
            if not METRIC_NAME_RE.match(rule.record):
                add(frag, "the record name is not a valid metric name")
            key = f"{rule.record}{sorted(rule.labels.items())}"  # SLOs share names, not labels
            if key in record_owner:
                add(frag, f"duplicate recording rule (also in {record_owner[key].where})")
            elif rule.record in declared:
                add(frag, "the record name is already a declared metric")
            record_owner.setdefault(key, item)
            for message in check_query(rule.expr, catalogue):
                add(frag, message)
        titles: set[str] = set()
        for panel in item.plugin.panels:
            frag = f"panel {panel.title!r}"
            if not panel.title.strip():
                add(frag, "missing title")
            if panel.title in titles:
                add(frag, "duplicate panel title in this plugin")
            titles.add(panel.title)
            if not 1 <= panel.width <= _MAX_WIDTH:
                add(frag, f"width {panel.width} is outside 1..{_MAX_WIDTH}")
            if panel.height < 1:
                add(frag, f"height {panel.height} must be at least 1")
            if not panel.queries:
                add(frag, "has no queries")
            for query in panel.queries:
                for message in check_query(query.expr, catalogue):
                    add(frag, message)
    for item in loaded:
        for alert in item.plugin.alerts:
            for name in alert.inhibits:
                if name not in alert_owner or name == alert.name:
                    problems.append(
                        Problem(
                            item.where,
                            f"alert {alert.name!r}",
                            f"inhibits {name!r}, which is not another alert of the build",
                        )
                    )
    problems.extend(_validate_tests(loaded, catalogue, alert_owner))
    return list(dict.fromkeys(problems))  # one problem once, however often it was found


_NUM = r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|Inf|inf|NaN|nan)"
_STEP = re.compile(
    rf"^(?P<start>[-+]?{_NUM})(?:(?P<sign>[-+])(?P<step>{_NUM}))?(?:x(?P<times>\d+))?$"
)


def expand_values(values: str) -> list[float | None]:
    """promtool's expanding notation (``0+1x3 _ 5x2 stale``) as one value per step.

    ``None`` stands for a missing (``_``) or stale sample; raises ValueError on bad input.
    """
    out: list[float | None] = []
    for part in values.split():
        if part == "stale":
            out.append(None)
            continue
        if part == "_" or part.startswith("_x"):
            out.extend([None] * (int(part[2:]) if part.startswith("_x") else 1))
            continue
        m = _STEP.match(part)
        if m is None:
            raise ValueError(f"cannot read {part!r}")
        start = float(m.group("start"))
        times = int(m.group("times") or 0)
        step = float(m.group("step") or 0) * (-1 if m.group("sign") == "-" else 1)
        if m.group("times") is None:
            out.append(start)
        else:
            out.extend(start + step * k for k in range(times + 1))
    return out


def _series_labels(series: str) -> tuple[str | None, dict[str, str]]:
    toks = _tokens(series)
    name = toks[0].text if toks and toks[0].kind == "ident" else None
    start = 1 if name is not None else 0
    if start < len(toks) and toks[start].text == "{":
        found, _ = _matchers(toks, start)
        return name, {label: value for label, _, value in found}
    return name, {}


def _non_cumulative(test: RuleTest, catalogue: Catalogue) -> list[str]:
    """Histogram bucket inputs whose count falls as ``le`` grows (never true of real data)."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, list[float | None]]]]
    groups = {}
    for series in test.input_series:
        try:
            name, labels = _series_labels(series.series)
            values = expand_values(series.values)
        except (PromQLReadError, ValueError):
            continue  # reported elsewhere (series) or by promtool (values)
        if name is None or not name.endswith("_bucket") or "le" not in labels:
            continue
        info = catalogue.get(name)
        if info is None or info.origin != "metric":
            continue
        try:
            le = float(labels["le"])
        except ValueError:
            continue
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        groups.setdefault((name, rest), []).append((le, values))
    found: list[str] = []
    for (name, rest), buckets in groups.items():
        buckets.sort(key=lambda b: b[0])
        for (lo_le, lo), (hi_le, hi) in itertools.pairwise(buckets):
            for step, (a, b) in enumerate(zip(lo, hi, strict=False)):
                if a is not None and b is not None and b < a:
                    where = ", ".join(f'{k}="{v}"' for k, v in rest)
                    found.append(
                        f'input series {name}{{{where}}} is not cumulative: le="{hi_le:g}" '
                        f'has {b:g} < le="{lo_le:g}" {a:g} at step {step} (a bucket counts '
                        "every observation up to its bound, so counts never fall as le grows)"
                    )
                    break
            else:
                continue
            break
    return found


def _validate_tests(
    loaded: Sequence[LoadedPlugin], catalogue: Catalogue, alert_owner: dict[str, LoadedPlugin]
) -> list[Problem]:
    problems: list[Problem] = []
    firing: set[str] = set()
    quiet: set[str] = set()
    for item in loaded:
        names: set[str] = set()
        for test in item.plugin.rule_tests:
            frag = f"rule test {test.name!r}"

            def add(message: str, frag: str = frag, where: str = item.where) -> None:
                problems.append(Problem(where, frag, message))

            if test.name in names:
                add("duplicate rule test name in this plugin")
            names.add(test.name)
            if not _duration(test.interval):
                add(f"invalid interval {test.interval!r}")
            for message in _non_cumulative(test, catalogue):
                add(message)
            if test.evaluation_interval and not _duration(test.evaluation_interval):
                add(f"invalid evaluation_interval {test.evaluation_interval!r}")
            for series in test.input_series:
                try:
                    sel = read_series(series.series)
                except PromQLReadError as exc:
                    add(f"input series {series.series!r}: {exc}")
                    continue
                info = catalogue.get(sel.metric or "")
                if info is None:
                    add(f"input series uses unknown metric {sel.metric!r}")
                elif info.labels is not None:
                    extra = sorted(set(sel.labels) - info.labels - catalogue.always)
                    if extra:
                        add(
                            f"input series {sel.metric!r} has undeclared label(s) {', '.join(extra)}"
                        )
            for case in test.alert_rule_test:
                if not _duration(case.eval_time):
                    add(f"invalid eval_time {case.eval_time!r}")
                if case.alertname not in alert_owner:
                    add(f"tests unknown alert {case.alertname!r}")
                (firing if case.exp_alerts else quiet).add(case.alertname)
    constant = {
        a.name for item in loaded for a in item.plugin.alerts if a.expr.strip() == "vector(1)"
    }
    for name, owner in alert_owner.items():
        missing = [
            what
            for what, seen in (("fires", firing), ("does not fire", quiet))
            if name not in seen and not (name in constant and what == "does not fire")
        ]
        if missing:
            problems.append(
                Problem(
                    owner.where,
                    f"alert {name!r}",
                    f"needs a rule test case where it {' and one where it '.join(missing)}",
                )
            )
    return problems


def validate_slos(loaded: Sequence[LoadedPlugin], opts: BuildOptions) -> list[Problem]:
    """Problems of every plugin's SLOs and of the objective overrides in ``opts``.

    The SLI's metrics and labels must be declared (counters for a ratio, a histogram whose
    buckets include the threshold for a latency SLI), so the derived rules can be trusted.
    """
    from boss.monitoring.render_prometheus import duration_ms
    from boss.monitoring.slo import SLOFragments
    from boss.monitoring.slo_selector import SelectorError, read_selector
    from boss.monitoring.slo_tests import MIN_OBJECTIVE

    catalogue = Catalogue(loaded)
    specs = {spec.name: spec for item in loaded for spec in item.plugin.metrics}
    alerts = {alert.name for item in loaded for alert in item.plugin.alerts}
    problems: list[Problem] = []
    owner: dict[str, str] = {}

    def selector(text: str, what: str, kinds: tuple[str, ...]) -> list[str]:
        try:
            sel = read_selector(text)
        except SelectorError as exc:
            return [f"{what}: {exc}"]
        spec = specs.get(sel.metric)
        if spec is None or spec.kind not in kinds:
            return [f"{what}: {sel.metric!r} is not a declared {' or '.join(kinds)}"]
        if "le" in sel.labels:
            return [f"{what}: do not match 'le'; the threshold chooses the bucket"]
        name = f"{sel.metric}_count" if spec.kind == "histogram" else sel.metric
        return [f"{what}: {m}" for m in check_query(sel.render(name), catalogue)]

    def check(slo: SLO) -> list[str]:
        found = []
        if not SLO_NAME_RE.match(slo.name):
            found.append("the name must match [a-z][a-z0-9-]* (it becomes the slo label)")
        if not slo.description.strip():
            found.append("missing description")
        if not MIN_OBJECTIVE <= slo.objective < 1:
            found.append(
                f"objective {slo.objective} is outside [{MIN_OBJECTIVE}, 1): below "
                f"{MIN_OBJECTIVE:.0%} even all events failing cannot clearly exceed the "
                "page's 14.4x burn rate"
            )
        if not _duration(slo.window) or duration_ms(slo.window) <= duration_ms("3d"):
            found.append(
                f"window {slo.window!r} must be a duration longer than 3d "
                "(the longest alerting window), e.g. 30d or 4w"
            )
        if slo.min_events_per_hour < 0:
            found.append("min_events_per_hour cannot be negative")
        for name in slo.inhibits:
            if name not in alerts:
                found.append(f"inhibits unknown alert {name!r}")
        sli = slo.sli
        if isinstance(sli, LatencySLI):
            found += selector(sli.histogram, "histogram", ("histogram",))
            spec = specs.get(sli.histogram.split("{")[0].strip())
            if spec is not None and spec.buckets and sli.threshold not in spec.buckets:
                bounds = ", ".join(f"{b:g}" for b in spec.buckets)
                found.append(
                    f"threshold {sli.threshold:g} is not a bucket boundary of "
                    f"{spec.name} (buckets: {bounds})"
                )
        else:
            if bool(sli.bad) == bool(sli.good):
                found.append("a ratio SLI needs exactly one of 'bad' or 'good' (besides 'total')")
            for field, text in (("total", sli.total), ("bad", sli.bad), ("good", sli.good)):
                if text:
                    found += selector(text, field, ("counter",))
        return found

    for item in loaded:
        if isinstance(item.plugin, SLOFragments):
            continue
        for slo in item.plugin.slos:
            frag = f"SLO {slo.name!r}"
            if slo.name in owner:
                problems.append(
                    Problem(item.where, frag, f"duplicate SLO name (also in {owner[slo.name]})")
                )
            owner.setdefault(slo.name, item.where)
            objective = opts.slo_objectives.get(slo.name, slo.objective)
            problems += [
                Problem(item.where, frag, message)
                for message in check(msgspec.structs.replace(slo, objective=objective))
            ]
    for name in sorted(set(opts.slo_objectives) - set(owner)):
        known = ", ".join(sorted(owner)) or "none"
        problems.append(
            Problem("--slo-objective", name, f"unknown SLO {name!r} (declared SLOs: {known})")
        )
    return problems
