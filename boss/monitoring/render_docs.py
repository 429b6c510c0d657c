"""Render ``docs/metrics.md``: every metric with type, labels, help, owner and its users."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence

from boss._specs import MetricSpec
from boss.loader import LoadedPlugin
from boss.monitoring.catalogue import Catalogue
from boss.monitoring.promql import PromQLReadError, read_query
from boss.monitoring.render_prometheus import runbook_url
from boss.monitoring.slo import slo_reference
from boss.monitoring.yamlout import GENERATED_NOTE

__all__ = ("metrics_md",)


def _metrics_of(expr: str, catalogue: Catalogue, records: dict[str, str]) -> set[str]:
    """Declared metrics ``expr`` depends on, following recording rules to their inputs."""
    try:
        names = read_query(expr).metrics
    except PromQLReadError:
        return set()
    found: set[str] = set()
    seen: set[str] = set()
    while names:
        name = names.pop()
        if name in seen:
            continue
        seen.add(name)
        info = catalogue.get(name)
        if info is None:
            continue
        if info.origin == "record" and name in records:
            with contextlib.suppress(PromQLReadError):
                names.extend(read_query(records[name]).metrics)
        elif info.origin == "metric":
            found.add(info.metric)
    return found


def budget(spec: MetricSpec) -> str:
    """A metric's series budget in words: its ``max_series``, or the bounded product."""
    if spec.max_series is not None:
        return f"{spec.max_series} (max_series)"
    size = 1
    for label in spec.labels:
        size *= len(spec.label_values.get(label, ()))
    return f"{size} (bounded labels)" if spec.labels else "1"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def metrics_md(loaded: Sequence[LoadedPlugin]) -> str:
    """The metrics reference as Markdown."""
    catalogue = Catalogue(loaded)
    records = {r.record: r.expr for item in loaded for r in item.plugin.recording_rules}
    users: dict[str, list[str]] = defaultdict(list)
    for item in loaded:
        for rule in item.plugin.recording_rules:
            for metric in sorted(_metrics_of(rule.expr, catalogue, records)):
                users[metric].append(f"recording rule `{rule.record}`")
        for alert in item.plugin.alerts:
            for metric in sorted(_metrics_of(alert.expr, catalogue, records)):
                users[metric].append(
                    f"alert [{alert.name}]({runbook_url(alert, 'runbooks')}) ({alert.severity})"
                )
        for panel in item.plugin.panels:
            used: set[str] = set()
            for query in panel.queries:
                used |= _metrics_of(query.expr, catalogue, records)
            for metric in sorted(used):
                users[metric].append(f"panel “{panel.title}” ({item.plugin.display_title})")

    out = [
        f"<!-- {GENERATED_NOTE} -->",
        "",
        "# Metrics reference",
        "",
        "Every metric the installed plugins declare, with the alerts, recording rules and",
        "dashboard panels that use it. Every series also carries `job` and `instance` (from",
        "scraping) and `cluster` and `environment` (Prometheus external labels). Histograms",
        "expose `<name>_bucket` (with `le`), `<name>_sum` and `<name>_count`.",
        "",
        "The series budget is how many label-value combinations a metric may have in one",
        "process: labels list their values, or the metric declares `max_series`; past it, new",
        "combinations fold into one series whose open labels read `__overflow__`, counted in",
        "`boss_metric_series_overflow_total`.",
        "",
        "| metric | type | labels | series budget | owner | help |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in loaded:
        for spec in item.plugin.metrics:
            labels = ", ".join(f"`{label}`" for label in spec.labels) or "—"
            out.append(
                f"| [`{spec.name}`](#{spec.name}) | {spec.kind} | {labels} | {budget(spec)} | "
                f"{item.name} | "
                f"{_cell(spec.help)} |"
            )
    for item in loaded:
        if not item.plugin.metrics and not item.plugin.recording_rules:
            continue
        dist = f" — distribution `{item.distribution}`" if item.distribution else ""
        out += ["", f"## Plugin `{item.name}`{dist}", ""]
        for spec in item.plugin.metrics:
            # The list follows its help line in one block: two metrics with the same labels and
            # users would otherwise render identical paragraphs (the docs guard refuses those).
            out += [f"### {spec.name}", "", f"{spec.kind.capitalize()}. {spec.help}"]
            if spec.labels:
                out.append("- labels:")
                for label in spec.labels:
                    domain = spec.label_values.get(label)
                    values = f": {', '.join(f'`{v}`' for v in domain)}" if domain else ""
                    if not domain and label in spec.label_bounds:
                        values = f": {_cell(spec.label_bounds[label])}"
                    out.append(f"  - `{label}`{values}")
            else:
                out.append("- labels: none")
            out.append(f"- series budget: {budget(spec)}")
            if spec.kind == "histogram" and spec.buckets:
                out.append(f"- buckets: {', '.join(f'{b:g}' for b in spec.buckets)}")
            if spec.kind == "gauge":
                out.append(f"- multiprocess mode: `{spec.multiprocess_mode}`")
            if spec.unit:
                out.append(f"- unit: {spec.unit}")
            used_by = users.get(spec.name, [])
            out.append(f"- used by: {'; '.join(used_by) if used_by else 'nothing yet'}")
            out.append("")
        if item.plugin.recording_rules:
            out += ["### Recording rules", "", "| series | expression |", "| --- | --- |"]
            for rule in item.plugin.recording_rules:
                out.append(f"| `{rule.record}` | `{_cell(rule.expr)}` |")
            out.append("")
    out += slo_reference(loaded)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
