"""The series every query may select: declared metrics, recording-rule outputs, Prometheus's own.

Built once from the loaded plugins, it answers "does this series exist, and which labels does
it carry?" for validation, and "who owns it?" for the metrics reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from boss.loader import LoadedPlugin
from boss.monitoring.labels import result_labels
from boss.monitoring.promql import PromQLReadError, read_query

__all__ = ("ALWAYS_LABELS", "SELF_SERIES", "Catalogue", "SeriesInfo")

ALWAYS_LABELS = frozenset({"job", "instance", "cluster", "environment"})
"""Labels every series has: target labels from scraping plus the external labels."""

_SCRAPE_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)

SELF_SERIES: dict[str, tuple[str, frozenset[str]]] = {
    "prometheus_rule_evaluation_failures_total": ("prometheus", frozenset({"rule_group"})),
    "prometheus_rule_group_iterations_missed_total": ("prometheus", frozenset({"rule_group"})),
    "prometheus_notifications_alertmanagers_discovered": ("prometheus", frozenset()),
    "prometheus_notifications_dropped_total": ("prometheus", frozenset()),
    "prometheus_notifications_errors_total": ("prometheus", frozenset({"alertmanager"})),
    "prometheus_notifications_sent_total": ("prometheus", frozenset({"alertmanager"})),
    "prometheus_config_last_reload_successful": ("prometheus", frozenset()),
    "alertmanager_notifications_failed_total": (
        "alertmanager",
        frozenset({"integration", "reason"}),
    ),
    "alertmanager_notifications_total": ("alertmanager", frozenset({"integration"})),
    "alertmanager_config_last_reload_successful": ("alertmanager", frozenset()),
}
"""Prometheus's and Alertmanager's own series (a small catalogue): owner and labels. The
meta-alerts read them, and the build's scoping leaves their selectors alone."""


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One selectable series name."""

    name: str
    labels: frozenset[str] | None
    """Its labels besides ``ALWAYS_LABELS``; ``None`` means any label may appear."""
    owner: str
    """The plugin that declares it, or ``prometheus``/``alertmanager`` for their own series."""
    metric: str
    """The declared metric (or recording rule) it belongs to."""
    origin: str
    """``metric`` for a declared metric, ``record`` for a recording-rule output, ``builtin``."""


class Catalogue:
    """Lookup of every series name a query can use, with its labels and owner."""

    __slots__ = ("always", "series")

    def __init__(
        self, loaded: Sequence[LoadedPlugin], deployment_labels: Sequence[str] = ()
    ) -> None:
        self.always: frozenset[str] = ALWAYS_LABELS | frozenset(deployment_labels)
        """Labels every scraped series has: ``ALWAYS_LABELS`` plus the build's deployment
        labels (``--deployment-labels``), which target or external labels provide."""
        self.series: dict[str, SeriesInfo] = {}
        for name in _SCRAPE_SERIES:
            self.series[name] = SeriesInfo(name, frozenset(), "prometheus", name, "builtin")
        for name, (owner, labels) in SELF_SERIES.items():
            self.series[name] = SeriesInfo(name, labels, owner, name, "builtin")
        for name in ("ALERTS", "ALERTS_FOR_STATE"):
            self.series[name] = SeriesInfo(name, None, "prometheus", name, "builtin")
        for item in loaded:
            for spec in item.plugin.metrics:
                labels = frozenset(spec.labels)
                if spec.kind == "histogram":
                    self._add(f"{spec.name}_bucket", labels | {"le"}, item.name, spec.name)
                    self._add(f"{spec.name}_sum", labels, item.name, spec.name)
                    self._add(f"{spec.name}_count", labels, item.name, spec.name)
                else:
                    self._add(spec.name, labels, item.name, spec.name)
        self._add_records(loaded)

    def _add(self, name: str, labels: frozenset[str], owner: str, metric: str) -> None:
        self.series[name] = SeriesInfo(name, labels, owner, metric, "metric")

    def labels_of(self, name: str) -> frozenset[str] | None:
        """The labels of series ``name`` besides ``ALWAYS_LABELS`` (``None``: unknown)."""
        info = self.series.get(name)
        return None if info is None else info.labels

    def _add_records(self, loaded: Sequence[LoadedPlugin]) -> None:
        """Recording-rule outputs carry the labels their expression's result has (followed
        through aggregations and functions by ``boss.monitoring.labels``), plus the rule's own.

        Rules may build on each other in any order, so resolve them until nothing changes;
        a rule whose inputs are unknown keeps ``frozenset()`` and validation reports it.
        """
        rules = [(item.name, rule) for item in loaded for rule in item.plugin.recording_rules]
        for _ in range(len(rules) + 1):
            changed = False
            for owner, rule in rules:
                try:
                    flow = result_labels(rule.expr, self.labels_of, self.always)
                    exact = flow.labels
                except PromQLReadError:
                    exact = None
                if exact is not None:
                    labels: frozenset[str] = frozenset((exact | set(rule.labels)) - self.always)
                else:
                    labels = self._union_labels(rule.expr, rule.labels)
                old = self.series.get(rule.record)
                if old is None or old.labels != labels:
                    self.series[rule.record] = SeriesInfo(
                        rule.record, labels, owner, rule.record, "record"
                    )
                    changed = True
            if not changed:
                break

    def _union_labels(self, expr: str, extra: dict[str, str]) -> frozenset[str]:
        """Every label of every input: the fallback when the result cannot be followed."""
        try:
            refs = read_query(expr)
        except PromQLReadError:
            return frozenset()
        found: set[str] = set(refs.created) | set(extra)
        for metric in refs.metrics:
            info = self.series.get(metric)
            if info is not None and info.labels is not None:
                found |= info.labels
        return frozenset(found - self.always)

    def get(self, name: str) -> SeriesInfo | None:
        """The series called ``name``, or ``None``."""
        return self.series.get(name)

    def known_names(self) -> list[str]:
        """Every selectable series name, sorted (for "did you mean" hints)."""
        return sorted(self.series)
