"""Declarative fragments a plugin brings: metrics, alerts, recording rules, rule tests, panels, SLOs.

They are plain msgspec Structs so that the build step and the docs can read every installed
plugin's observability without starting an app or touching a database.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

import msgspec

__all__ = (
    "SEVERITIES",
    "SLO",
    "SLO_NAME_RE",
    "AlertRule",
    "AlertTest",
    "ExpectedAlert",
    "LatencySLI",
    "MetricKind",
    "MetricSpec",
    "MultiprocessMode",
    "Panel",
    "PanelKind",
    "Query",
    "RatioSLI",
    "RecordingRule",
    "RuleTest",
    "Series",
    "Severity",
    "Threshold",
)

MetricKind = Literal["counter", "gauge", "histogram"]
Severity = Literal["critical", "warning", "info"]
PanelKind = Literal["timeseries", "stat", "piechart", "gauge", "bargauge", "table"]
MultiprocessMode = Literal[
    "all",
    "liveall",
    "min",
    "livemin",
    "max",
    "livemax",
    "sum",
    "livesum",
    "mostrecent",
    "livemostrecent",
]
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
PLUGIN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DURATION_RE = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")
PAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
SLO_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
RESERVED_LABELS = frozenset({"le", "quantile", "job", "instance"})


class MetricSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One metric a plugin owns; the core turns it into a prometheus-client object."""

    name: str
    """Exposed name; counters include their ``_total`` suffix (``http_requests_total``)."""
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None
    """Histogram bucket upper bounds (required for histograms, forbidden otherwise)."""
    multiprocess_mode: MultiprocessMode = "livesum"
    """How gauges from several workers combine in prometheus-client multiprocess mode."""
    label_values: dict[str, tuple[str, ...]] = {}
    """The bounded domain of a label where it is known (documentation and series budgets)."""
    unit: str = ""
    """Base unit for the docs (``seconds``, ``bytes``); the name already carries it."""
    label_bounds: dict[str, str] = {}
    """How a label without ``label_values`` is bounded, in words (shown in the metrics docs)."""
    max_series: int | None = None
    """Series budget: how many label-value combinations the metric may have (per process).

    Required when a label has no ``label_values``; past it, new combinations fold into one
    ``__overflow__`` series (see ``boss.metrics_registry``)."""

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Series names this metric exposes, as PromQL sees them."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    @property
    def base_name(self) -> str:
        """Name prometheus-client takes: counters without their ``_total`` suffix."""
        if self.kind == "counter" and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name

    def problems(self) -> list[str]:
        """Everything wrong with this spec, as readable sentences (empty when valid)."""
        found: list[str] = []
        if not METRIC_NAME_RE.match(self.name):
            found.append(f"metric name {self.name!r} is not a valid Prometheus metric name")
        if self.kind == "counter" and not self.name.endswith("_total"):
            found.append(f"counter {self.name!r} must end in '_total'")
        if not self.help.strip():
            found.append(f"metric {self.name!r} has no help text")
        seen: set[str] = set()
        for label in self.labels:
            if not LABEL_NAME_RE.match(label) or label.startswith("__"):
                found.append(f"metric {self.name!r}: label {label!r} is not a valid label name")
            if label in RESERVED_LABELS:
                found.append(f"metric {self.name!r}: label {label!r} is reserved")
            if label in seen:
                found.append(f"metric {self.name!r}: label {label!r} is declared twice")
            seen.add(label)
        for label in self.label_values:
            if label not in self.labels:
                found.append(f"metric {self.name!r}: label_values names undeclared {label!r}")
            elif not self.label_values[label]:
                found.append(f"metric {self.name!r}: label_values of {label!r} is empty")
        for label in self.label_bounds:
            if label not in self.labels:
                found.append(f"metric {self.name!r}: label_bounds names undeclared {label!r}")
        if self.max_series is not None and self.max_series < 1:
            found.append(f"metric {self.name!r}: max_series must be at least 1")
        elif self.max_series is None:
            for label in self.labels:
                if label not in self.label_values:
                    found.append(
                        f"metric {self.name!r}: label {label!r} is unbounded — list its values "
                        f"in label_values={{{label!r}: (...)}} or give the metric a series "
                        "budget with max_series=N"
                    )
        if self.kind == "histogram":
            if not self.buckets:
                found.append(f"histogram {self.name!r} needs buckets")
            elif list(self.buckets) != sorted(set(self.buckets)):
                found.append(f"histogram {self.name!r}: buckets must be strictly increasing")
        elif self.buckets is not None:
            found.append(f"{self.kind} {self.name!r} cannot have buckets")
        return found


class AlertRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Prometheus alerting rule fragment; the build step adds the plugin's group around it."""

    name: str
    expr: str
    severity: Severity
    summary: str
    description: str
    for_: str = msgspec.field(default="0s", name="for")
    """Prometheus duration (``5m``) the condition must hold before the alert fires."""
    runbook: str = ""
    """Runbook page name under ``docs/runbooks/``; defaults to the alert name."""
    labels: dict[str, str] = {}
    inhibits: tuple[str, ...] = ()
    """Names of alerts this one mutes while it fires, within the same deployment (equal
    ``job`` and deployment labels): only for pairs where this alert explains the other,
    never to mute a possible cause."""

    @property
    def runbook_page(self) -> str:
        """The runbook file name: ``runbooks/<page>`` in the package, ``docs/runbooks/<page>``
        in the build's output."""
        return f"{self.runbook or self.name}.md"

    def runbook_problem(self) -> str | None:
        """Why ``runbook`` is unusable, or ``None``: it must be empty (the page is the alert
        name), a page name (``runbooks/<name>.md`` in the plugin's package) or an absolute
        http(s) URL."""
        value = self.runbook
        if not value:
            return None
        if value.startswith(("https://", "http://")):
            if not urlsplit(value).netloc or any(c.isspace() for c in value):
                return f"runbook {value!r} is not a valid URL (expected https://host/path)"
            return None
        if "/" in value or "\\" in value:
            stem = value.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".md")
            return (
                f"runbook {value!r} is a relative path: give a page name such as {stem!r} "
                "(the file runbooks/<name>.md in the plugin's package) or an absolute "
                "https:// URL"
            )
        if value.endswith(".md"):
            return f"runbook {value!r}: give the page name without '.md' ({value[:-3]!r})"
        if not PAGE_NAME_RE.match(value):
            return (
                f"runbook {value!r} is not a page name (letters, digits, '_' and '-') "
                "nor an absolute https:// URL"
            )
        return None


class RecordingRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Prometheus recording rule fragment."""

    record: str
    expr: str
    labels: dict[str, str] = {}


class Series(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One input series of a promtool rule test (``values`` in promtool's expanding notation)."""

    series: str
    values: str


class ExpectedAlert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An alert a rule test expects, with its labels and optionally its annotations."""

    exp_labels: dict[str, str] = {}
    exp_annotations: dict[str, str] | None = None
    deployment: bool = True
    """Whether the alert names its deployment: the build adds ``job``, the deployment labels
    and (where the rule keeps it) ``instance`` that ``exp_labels`` leaves out. ``False`` for
    an alert raised by ``absent(...)``, which carries only ``job``."""


class AlertTest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which alerts with a given name fire at ``eval_time`` (an empty list means none)."""

    eval_time: str
    alertname: str
    exp_alerts: tuple[ExpectedAlert, ...] = ()


class RuleTest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A promtool rule unit test: input series and the alerts expected from them."""

    name: str
    input_series: tuple[Series, ...]
    alert_rule_test: tuple[AlertTest, ...]
    interval: str = "1m"
    evaluation_interval: str = ""
    """How often rules run in this test; empty means ``interval`` (long scenarios may take
    a coarser one to stay fast while the input keeps its 1-minute samples)."""


class Query(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One PromQL query of a panel, with the legend Grafana shows for it."""

    expr: str
    legend: str = ""
    instant: bool = False


class Threshold(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A colour step: from ``value`` upwards (``None`` is the base step) use ``color``."""

    color: str
    value: float | None = None


class Panel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A dashboard panel fragment; the build step lays it out in the plugin's row."""

    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    unit: str = "short"
    """Grafana unit id (``reqps``, ``s``, ``percent``, ``short``)."""
    description: str = ""
    thresholds: tuple[Threshold, ...] = ()
    width: int = 12
    height: int = 8
    decimals: int | None = None
    row: str = ""
    """Title of the dashboard row the panel goes in; empty means the plugin's own row. A
    plugin with several areas (the core: HTTP, database, rate limiting) gives each a row."""


class RatioSLI(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="ratio",
    tag_field="kind",
):
    """An availability SLI: the share of events that are good, from declared counters.

    Selectors are a counter's name with label matchers, as in PromQL; give either ``bad``
    or ``good`` (the other is ``total`` minus it).
    """

    total: str
    """Every event: ``http_requests_total{endpoint=~"/api/.*"}``."""
    bad: str = ""
    """The bad events among them: ``http_requests_total{endpoint=~"/api/.*", status=~"5.."}``."""
    good: str = ""
    """Or the good events among them."""


class LatencySLI(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="latency",
    tag_field="kind",
):
    """A latency SLI: the share of a declared histogram's observations at or under a threshold."""

    histogram: str
    """The histogram's name with label matchers: ``http_request_duration_seconds{endpoint=~"/api/.*"}``."""
    threshold: float
    """In the histogram's unit; must be one of its bucket boundaries, so the SLI is exact."""


class SLO(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A service-level objective; the build derives burn-rate rules, alerts, tests and panels."""

    name: str
    """``[a-z][a-z0-9-]*``; the ``slo`` label of every series and alert derived from it."""
    description: str
    """What the SLO promises, in words (``/api/ requests answer without a 5xx``)."""
    objective: float
    """Share of good events promised over the window, in (0, 1): ``0.999``."""
    sli: RatioSLI | LatencySLI
    window: str = "30d"
    """The compliance window (longer than 3d, the longest alerting window)."""
    min_events_per_hour: float = 30
    """Minimum-traffic guard: below this many events per hour (averaged over the last hour)
    the page stays quiet, so a handful of requests with one failure cannot wake anyone."""
    inhibits: tuple[str, ...] = ()
    """Alerts the SLO's page mutes in the same deployment (threshold alerts of the same outage)."""
