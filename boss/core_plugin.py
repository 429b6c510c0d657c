"""The core's own metric set, alerts and panels, registered through the ordinary plugin contract."""

from __future__ import annotations

from typing import ClassVar

from boss._specs import (
    SLO,
    AlertRule,
    LatencySLI,
    MetricSpec,
    Panel,
    Query,
    RatioSLI,
    RecordingRule,
    RuleTest,
    Threshold,
)
from boss.budget_fragments import BUDGET_ALERTS, BUDGET_RULE_TESTS
from boss.database.fragments import DB_ALERTS, DB_METRICS, DB_PANELS, DB_RULE_TESTS
from boss.http_rule_tests import HTTP_RULE_TESTS
from boss.plugin import BossPlugin
from boss.ratelimit.fragments import (
    RATE_LIMIT_ALERTS,
    RATE_LIMIT_METRICS,
    RATE_LIMIT_PANELS,
    RATE_LIMIT_RULE_TESTS,
)
from boss.runtime.fragments import (
    RUNTIME_ALERTS,
    RUNTIME_METRICS,
    RUNTIME_PANELS,
    RUNTIME_RULE_TESTS,
)

__all__ = ("API_SLOS", "HTTP_BUCKETS", "CorePlugin")

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
"""Request-duration buckets; 2 s is a boundary because SlowAPIResponses compares against it."""
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER")
ENDPOINT_BOUND = "the route template that answered, or `<unmatched>` (one per route of the app)"

NOT_API = 'endpoint!~"/health|/health/.*|/metrics"'
"""Probes and scrapes are no user traffic: they neither dilute nor raise the error ratio."""
LONG_ROUTES = 'endpoint!~"/api/ai/.*"'
"""Routes that wait for an LLM provider on purpose (seconds); their latency has its own panel."""
SLOW = 2.0
"""Seconds above which a request counts as slow (a bucket boundary of HTTP_BUCKETS)."""

HTTP_METRICS = (
    MetricSpec(
        name="http_requests_total",
        kind="counter",
        help="HTTP requests answered, by method, route template and status code.",
        labels=("method", "endpoint", "status"),
        label_values={"method": HTTP_METHODS},
        label_bounds={"endpoint": ENDPOINT_BOUND, "status": "an HTTP status code (100-599)"},
        max_series=2000,
    ),
    MetricSpec(
        name="http_request_duration_seconds",
        kind="histogram",
        help="Time from request start to the end of the response, by method and route template.",
        labels=("method", "endpoint"),
        buckets=HTTP_BUCKETS,
        unit="seconds",
        label_values={"method": HTTP_METHODS},
        label_bounds={"endpoint": ENDPOINT_BOUND},
        max_series=500,
    ),
    MetricSpec(
        name="errors_total",
        kind="counter",
        help="Server-side errors by exception type and severity (error: 5xx answer; critical: unhandled).",
        labels=("type", "severity"),
        label_values={"severity": ("error", "critical")},
        label_bounds={"type": "the class name of an exception boss or a plugin raises"},
        max_series=200,
    ),
    MetricSpec(
        name="boss_metric_series_overflow_total",
        kind="counter",
        help=(
            "Label lookups folded into a metric's __overflow__ series because the metric "
            "passed its series budget (max_series) in this process, by metric."
        ),
        labels=("metric",),
        label_bounds={"metric": "a declared metric with a series budget"},
        max_series=500,
    ),
)

HTTP_RECORDING_RULES = (
    RecordingRule(
        record="boss:http_requests:rate5m",
        expr=f"sum by (job) (rate(http_requests_total{{{NOT_API}}}[5m]))",
    ),
    RecordingRule(
        record="boss:http_server_errors:rate5m",
        # "or 0 * ...": a deployment without any 5xx yet has a rate of 0, not no data.
        expr=(
            f'sum by (job) (rate(http_requests_total{{status=~"5..", {NOT_API}}}[5m]))'
            f" or 0 * sum by (job) (rate(http_requests_total{{{NOT_API}}}[5m]))"
        ),
    ),
    RecordingRule(
        record="boss:http_errors:ratio_rate5m",
        expr="boss:http_server_errors:rate5m / boss:http_requests:rate5m",
    ),
)

MIN_ERRORS = 10
"""HighErrorRate needs at least this many failed requests in 5 minutes: a trickle at night
(3 errors in 20 requests) is no outage, while a real one at normal traffic passes it within
seconds."""

HTTP_ALERTS = (
    AlertRule(
        name="ApplicationDown",
        expr="max(up) == 0 or absent(up)",
        for_="1m",
        severity="critical",
        summary="boss ({{ $labels.job }}) is unreachable: no replica answers",
        description=(
            "Every boss target of this deployment failed its scrapes for more than one minute,"
            " or Prometheus has no boss target at all (service discovery lost them)."
        ),
    ),
    AlertRule(
        name="InstanceDown",
        expr="up == 0",
        for_="3m",
        severity="warning",
        summary="boss replica {{ $labels.instance }} is down",
        description=(
            "Prometheus could not scrape {{ $labels.instance }} for 3 minutes. The other"
            " replicas still serve; ApplicationDown fires if all of them are down."
        ),
    ),
    AlertRule(
        name="HighErrorRate",
        expr=(
            "boss:http_errors:ratio_rate5m > 0.05"
            f" and (boss:http_server_errors:rate5m * 300) >= {MIN_ERRORS}"
        ),
        for_="5m",
        severity="critical",
        summary="More than 5% of HTTP requests fail",
        description=(
            "{{ $value | humanizePercentage }} of API requests (health checks and /metrics"
            f" excluded) answered 5xx over the last 5 minutes, at least {MIN_ERRORS} of them."
        ),
    ),
    AlertRule(
        name="SlowAPIResponses",
        expr=(
            "1 - sum by (job) (rate(http_request_duration_seconds_bucket"
            f'{{le=~"2|2.0", {NOT_API}, {LONG_ROUTES}}}[5m]))'
            " / sum by (job) (rate(http_request_duration_seconds_count"
            f"{{{NOT_API}, {LONG_ROUTES}}}[5m])) > 0.05"
        ),
        for_="5m",
        severity="warning",
        summary="More than 5% of API requests take longer than 2 s",
        description=(
            "{{ $value | humanizePercentage }} of API requests (AI routes, health checks and"
            " /metrics excluded) took longer than 2 s over the last 5 minutes: p95 is above 2 s."
        ),
    ),
)

HTTP_PANELS = (
    Panel(
        title="HTTP request rate",
        kind="timeseries",
        unit="reqps",
        queries=(
            Query(
                expr="sum by (endpoint) (rate(http_requests_total[5m]))",
                legend="{{endpoint}}",
            ),
        ),
    ),
    Panel(
        title="HTTP request duration p95",
        kind="timeseries",
        unit="s",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=1.0),
            Threshold(color="red", value=2.0),
        ),
        queries=(
            Query(
                expr="histogram_quantile(0.95, sum by (endpoint, le) (rate(http_request_duration_seconds_bucket[5m])))",
                legend="{{endpoint}}",
            ),
        ),
    ),
    Panel(
        title="Error rate",
        kind="timeseries",
        unit="short",
        description="Server-side errors per minute by exception type.",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=1.0),
            Threshold(color="red", value=10.0),
        ),
        queries=(
            Query(expr="sum by (type) (rate(errors_total[5m])) * 60", legend="{{type}} /min"),
        ),
    ),
    Panel(
        title="HTTP error rate %",
        kind="stat",
        unit="percent",
        width=6,
        height=4,
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=1.0),
            Threshold(color="red", value=5.0),
        ),
        queries=(
            Query(
                # "or vector(0)": no 5xx yet is 0 %, not "No data".
                expr=f'100 * (sum(rate(http_requests_total{{status=~"5..", {NOT_API}}}[5m]))'
                f" or vector(0)) / clamp_min(sum(rate(http_requests_total{{{NOT_API}}}[5m])), 1e-9)",
                legend="5xx %",
            ),
        ),
    ),
)

API = 'endpoint=~"/api/.*"'
SLOW_BY_DESIGN = 'endpoint!~"/api/(ai/.*|admin/test-alert)"'
"""Routes that wait on a third party (the LLM provider, Discord): not in the latency SLO."""

API_SLOS = (
    SLO(
        name="api-availability",
        description="/api/ requests answer without a server error (5xx)",
        objective=0.999,
        sli=RatioSLI(
            total=f"http_requests_total{{{API}}}",
            bad=f'http_requests_total{{{API}, status=~"5.."}}',
        ),
        inhibits=("HighErrorRate",),
    ),
    # 0.5 s is a bucket boundary (exact, no interpolation), 10x the task API's p50 under load
    # and above its p99 while /metrics renders 100 000 series (docs/performance.md), and a
    # quarter of the SlowAPIResponses threshold: users notice 0.5 s, the DB pool wait shows.
    SLO(
        name="api-latency",
        description=(
            "/api/ requests (except those waiting on the AI provider or Discord) "
            "are answered within 0.5 s"
        ),
        objective=0.99,
        sli=LatencySLI(
            histogram=f"http_request_duration_seconds{{{API}, {SLOW_BY_DESIGN}}}",
            threshold=0.5,
        ),
        inhibits=("SlowAPIResponses",),
    ),
)


class CorePlugin(BossPlugin):
    """HTTP, error, database, rate-limit and runtime metrics of the core itself."""

    name = "core"
    title = "Core: HTTP"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        HTTP_METRICS + RATE_LIMIT_METRICS + DB_METRICS + RUNTIME_METRICS
    )
    alerts: ClassVar[tuple[AlertRule, ...]] = (
        HTTP_ALERTS + RATE_LIMIT_ALERTS + DB_ALERTS + BUDGET_ALERTS + RUNTIME_ALERTS
    )
    recording_rules: ClassVar[tuple[RecordingRule, ...]] = HTTP_RECORDING_RULES
    rule_tests: ClassVar[tuple[RuleTest, ...]] = (
        HTTP_RULE_TESTS
        + RATE_LIMIT_RULE_TESTS
        + DB_RULE_TESTS
        + BUDGET_RULE_TESTS
        + RUNTIME_RULE_TESTS
    )
    panels: ClassVar[tuple[Panel, ...]] = (
        HTTP_PANELS + RATE_LIMIT_PANELS + DB_PANELS + RUNTIME_PANELS
    )
    slos: ClassVar[tuple[SLO, ...]] = API_SLOS

    async def ping(self) -> str | None:
        """Readiness of the core: the shared database answers ``SELECT 1``."""
        from boss.database import Database

        database = self.context.services.get(Database) if hasattr(self, "context") else None
        if database is None:
            return None
        await database.ping()
        return database.location
