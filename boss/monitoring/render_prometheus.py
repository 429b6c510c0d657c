"""Render ``prometheus.yml``, one rule file per plugin and one promtool test file per plugin."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import msgspec

from boss._specs import AlertRule, RecordingRule, RuleTest
from boss.loader import LoadedPlugin
from boss.monitoring.options import BuildOptions
from boss.monitoring.promql import PromQLReadError, Selector, read_query
from boss.monitoring.scoping import rule_scope, scope_expr, stamp_rule_tests
from boss.monitoring.self_monitoring import is_scoped
from boss.monitoring.yamlout import GENERATED_NOTE, dump_yaml

__all__ = (
    "AnnotationKey",
    "annotation_key",
    "duration_ms",
    "open_annotation_keys",
    "prometheus_yml",
    "rule_file_names",
    "rule_files_for_tests",
    "rules_yml",
    "runbook_url",
    "scoped_alerts",
    "scoped_recording_rules",
    "scoped_tests",
    "tests_yml",
)

PROM_DIR = "monitoring/prometheus"

AnnotationKey = tuple[str, str, int, tuple[tuple[str, str], ...]]
"""(test name, alertname, eval_time in ms, sorted labels incl. alertname) of one alert."""

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_UNIT_MS |= {"w": 7 * _UNIT_MS["d"], "y": 365 * _UNIT_MS["d"]}


def duration_ms(text: str) -> int:
    """Milliseconds in a Prometheus (``90m``) or Go (``1h30m0s``) duration; -1 if invalid."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|[smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return -1
    return int(sum(float(n) * _UNIT_MS[u] for n, u in parts))


def rule_file_names(loaded: Sequence[LoadedPlugin]) -> list[str]:
    """Rule file names (relative to ``rules/``) for every plugin that has rules."""
    return [
        f"{item.name}.yml" for item in loaded if item.plugin.alerts or item.plugin.recording_rules
    ]


@lru_cache(maxsize=4096)
def _selectors(expr: str) -> tuple[Selector, ...] | None:
    """The vector selectors of a query, ``None`` if it cannot be read (memoized per build)."""
    try:
        return tuple(read_query(expr).selectors)
    except PromQLReadError:
        return None


def _referenced_plugins(item: LoadedPlugin, loaded: Sequence[LoadedPlugin]) -> set[str]:
    """Plugins whose rules produce series the plugin's alerts and recording rules read.

    A recorded series names its recording rule's plugin; ``ALERTS``/``ALERTS_FOR_STATE``
    could be any plugin's alert, and a selector without a metric name (``{__name__=~…}``)
    or a query the reader cannot tokenize could be anything, so those take every plugin.
    """
    owners = {rule.record: other.name for other in loaded for rule in other.plugin.recording_rules}
    alerting = {other.name for other in loaded if other.plugin.alerts}
    everything = set(owners.values()) | alerting
    exprs = [a.expr for a in item.plugin.alerts] + [r.expr for r in item.plugin.recording_rules]
    found: set[str] = set()
    for expr in exprs:
        selectors = _selectors(expr)
        if selectors is None:  # promtool reports the query; meanwhile assume the worst
            return everything
        for selector in selectors:
            if selector.metric is None:
                return everything
            if selector.metric in ("ALERTS", "ALERTS_FOR_STATE"):
                found |= alerting
            elif selector.metric in owners:
                found.add(owners[selector.metric])
    return found


def rule_files_for_tests(item: LoadedPlugin, loaded: Sequence[LoadedPlugin]) -> list[str]:
    """Rule files (relative to ``rules/``) a plugin's unit tests load: only those they need.

    That is the plugin's own, those of the plugins it ``requires`` and of the plugins whose
    recording rules its expressions read (core's shared ``boss:*`` ones, say) — transitively,
    in ``prometheus.yml``'s order. Loading every rule file into every plugin's tests made
    promtool evaluate N x N rule groups, so the build grew quadratically; and loading core's
    rules into tests that never read them tripled the cost of long test series.
    """
    by_name = {other.name: other for other in loaded}
    needed: set[str] = set()
    pending = [item.name]
    while pending:
        name = pending.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        pending.extend(by_name[name].plugin.requires)
        pending.extend(sorted(_referenced_plugins(by_name[name], loaded)))
    return [name for name in rule_file_names(loaded) if name.removesuffix(".yml") in needed]


def prometheus_yml(loaded: Sequence[LoadedPlugin], opts: BuildOptions) -> str:
    """The Prometheus configuration: globals, alerting, rule files and scrape jobs."""
    boss_job: dict[str, Any] = {"job_name": opts.job, "metrics_path": opts.metrics_path}
    if opts.metrics_token_file:
        boss_job["authorization"] = {"type": "Bearer", "credentials_file": opts.metrics_token_file}
    if opts.targets_file:
        boss_job["file_sd_configs"] = [{"files": [opts.targets_file], "refresh_interval": "1m"}]
    else:
        boss_job["static_configs"] = [{"targets": list(opts.targets)}]
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": opts.scrape_interval,
            "evaluation_interval": opts.evaluation_interval,
            "external_labels": {"cluster": opts.cluster, "environment": opts.environment},
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [opts.alertmanager]}]}]},
        "rule_files": [f"rules/{name}" for name in rule_file_names(loaded)],
        "scrape_configs": [
            boss_job,
            {"job_name": "prometheus", "static_configs": [{"targets": [opts.prometheus]}]},
            {"job_name": "alertmanager", "static_configs": [{"targets": [opts.alertmanager]}]},
            {"job_name": "grafana", "static_configs": [{"targets": [opts.grafana]}]},
        ],
    }
    if opts.scrape_config_files:
        config["scrape_config_files"] = list(opts.scrape_config_files)
    if opts.remote_write_url:
        remote: dict[str, Any] = {"url": opts.remote_write_url}
        if opts.remote_write_token_file:
            remote["authorization"] = {
                "type": "Bearer",
                "credentials_file": opts.remote_write_token_file,
            }
        config["remote_write"] = [remote]
    return dump_yaml(config)


def scoped_alerts(item: LoadedPlugin, opts: BuildOptions) -> tuple[AlertRule, ...]:
    """The plugin's alerts with expressions scoped to the job and deployments (see scoping)."""
    if not is_scoped(item):
        return item.plugin.alerts
    scope = rule_scope(opts)
    return tuple(
        msgspec.structs.replace(alert, expr=scope_expr(alert.expr, scope))
        for alert in item.plugin.alerts
    )


def scoped_recording_rules(item: LoadedPlugin, opts: BuildOptions) -> tuple[RecordingRule, ...]:
    """The plugin's recording rules with scoped expressions."""
    if not is_scoped(item):
        return item.plugin.recording_rules
    scope = rule_scope(opts)
    return tuple(
        msgspec.structs.replace(rule, expr=scope_expr(rule.expr, scope))
        for rule in item.plugin.recording_rules
    )


def scoped_tests(
    item: LoadedPlugin, opts: BuildOptions, loaded: Sequence[LoadedPlugin] = ()
) -> tuple[RuleTest, ...]:
    """The plugin's rule tests with the build's job, instance and deployment labels stamped.

    ``loaded`` gives the recording rules whose outputs the alerts may read (to tell which
    labels survive them).
    """
    if not is_scoped(item):
        return item.plugin.rule_tests
    records = {
        rule.record: rule.expr
        for other in (*loaded, item)
        if is_scoped(other)
        for rule in scoped_recording_rules(other, opts)
    }
    return stamp_rule_tests(item.plugin.rule_tests, item.plugin.alerts, opts, records)


def rules_yml(item: LoadedPlugin, opts: BuildOptions) -> str:
    """The rule file of one plugin: one group named after it, recording rules first."""
    rules: list[dict[str, Any]] = []
    for rule in scoped_recording_rules(item, opts):
        entry: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            entry["labels"] = dict(sorted(rule.labels.items()))
        rules.append(entry)
    base = opts.runbook_url_base.rstrip("/")
    for alert in scoped_alerts(item, opts):
        rules.append(
            {
                "alert": alert.name,
                "expr": alert.expr,
                "for": alert.for_,
                "labels": {"severity": alert.severity, **dict(sorted(alert.labels.items()))},
                "annotations": {
                    "summary": alert.summary,
                    "description": alert.description,
                    "runbook_url": runbook_url(alert, base),
                },
            }
        )
    header = f"Alerts and recording rules of plugin {item.name!r}.\n"
    return dump_yaml({"groups": [{"name": item.name, "rules": rules}]}, header + GENERATED_NOTE)


def runbook_url(alert: AlertRule, base: str) -> str:
    """The alert's runbook: its own URL, or its page under ``base``."""
    if alert.runbook.startswith(("https://", "http://")):
        return alert.runbook
    return f"{base}/{alert.runbook_page}"


def _case(
    test: RuleTest, annotations: Mapping[AnnotationKey, dict[str, str]]
) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for case in test.alert_rule_test:
        expected: list[dict[str, Any]] = []
        for exp in case.exp_alerts:
            labels = dict(sorted(exp.exp_labels.items()))
            entry: dict[str, Any] = {"exp_labels": labels}
            if exp.exp_annotations is not None:
                entry["exp_annotations"] = dict(sorted(exp.exp_annotations.items()))
            else:
                key = annotation_key(test.name, case.alertname, case.eval_time, labels)
                if key in annotations:
                    entry["exp_annotations"] = annotations[key]
            expected.append(entry)
        cases.append(
            {"eval_time": case.eval_time, "alertname": case.alertname, "exp_alerts": expected}
        )
    return cases


def annotation_key(
    test: str, alertname: str, eval_time: str, labels: Mapping[str, str]
) -> AnnotationKey:
    """The key under which promtool's actual annotations for one expected alert are kept."""
    full = {**labels, "alertname": alertname}
    return (test, alertname, duration_ms(eval_time), tuple(sorted(full.items())))


def open_annotation_keys(
    item: LoadedPlugin, opts: BuildOptions, loaded: Sequence[LoadedPlugin] = ()
) -> list[AnnotationKey]:
    """Keys of the plugin's expected alerts whose annotations promtool has to fill in."""
    return [
        annotation_key(test.name, case.alertname, case.eval_time, exp.exp_labels)
        for test in scoped_tests(item, opts, loaded)
        for case in test.alert_rule_test
        for exp in case.exp_alerts
        if exp.exp_annotations is None
    ]


def tests_yml(
    item: LoadedPlugin,
    loaded: Sequence[LoadedPlugin],
    annotations: Mapping[AnnotationKey, dict[str, str]],
    opts: BuildOptions,
) -> dict[str, str]:
    """promtool unit tests of one plugin, run against the rule files they need.

    Returns ``{file name: text}``. A test's ``interval`` is both the spacing of its input
    samples and the rule evaluation interval — as in production, where every evaluation
    sees the latest scrape (unless the test sets its own ``evaluation_interval``). promtool has
    one evaluation interval per file, so tests with another evaluation interval than the
    plugin's first go to ``<plugin>.every-<interval>.yml``.

    Expected alerts whose fragment leaves ``exp_annotations`` unset get the annotations
    promtool computes (``annotations``, this plugin's), since promtool always compares them.
    """
    rule_files = [f"../rules/{name}" for name in rule_files_for_tests(item, loaded)]
    groups: dict[str, list[RuleTest]] = {}
    for test in scoped_tests(item, opts, loaded):
        groups.setdefault(test.evaluation_interval or test.interval, []).append(test)
    out: dict[str, str] = {}
    for index, (interval, tests) in enumerate(groups.items()):
        data = {
            "rule_files": rule_files,
            "evaluation_interval": interval,
            "tests": [
                {
                    "name": test.name,
                    "interval": test.interval,
                    "input_series": [
                        {"series": s.series, "values": s.values} for s in test.input_series
                    ],
                    "alert_rule_test": _case(test, annotations),
                }
                for test in tests
            ],
        }
        name = f"{item.name}.yml" if index == 0 else f"{item.name}.every-{interval}.yml"
        header = f"promtool rule unit tests of plugin {item.name!r}.\n"
        out[name] = dump_yaml(data, header + GENERATED_NOTE)
    return out
