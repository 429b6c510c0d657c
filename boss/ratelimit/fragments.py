"""The rate limiter's metrics, alerts, rule tests and panels, merged into the core plugin."""

from __future__ import annotations

from boss._specs import (
    AlertRule,
    AlertTest,
    ExpectedAlert,
    MetricSpec,
    Panel,
    Query,
    RuleTest,
    Series,
    Threshold,
)

__all__ = (
    "RATE_LIMIT_ALERTS",
    "RATE_LIMIT_METRICS",
    "RATE_LIMIT_PANELS",
    "RATE_LIMIT_ROW",
    "RATE_LIMIT_RULE_TESTS",
)

RATE_LIMIT_ROW = "Core: rate limiting"
"""The dashboard row of the rate limiter's panels."""

RATE_LIMIT_METRICS = (
    MetricSpec(
        name="rate_limit_violations_total",
        kind="counter",
        help="Requests refused with 429 because the client exhausted its limit, by route template.",
        labels=("endpoint",),
        label_bounds={"endpoint": "a route template of the app (one per route)"},
        max_series=200,
    ),
    MetricSpec(
        name="rate_limit_near_limit",
        kind="gauge",
        help=(
            "Clients (per route group) that used 80% or more of their limit in their current"
            " window. Per process; with several workers the highest worker's value is shown,"
            " because every worker sharing the Redis counters sees the same hot clients."
        ),
        multiprocess_mode="livemax",
    ),
    MetricSpec(
        name="rate_limit_backend_errors_total",
        kind="counter",
        help=(
            "Redis failures of the rate limiter; each one let the request through unchecked"
            " (fail open)."
        ),
    ),
)

RATE_LIMIT_ALERTS = (
    AlertRule(
        name="HighRateLimitViolations",
        expr="sum by (job) (rate(rate_limit_violations_total[5m])) * 60 > 10",
        for_="10m",
        severity="warning",
        summary="Clients keep hitting the rate limit",
        description=(
            "More than 10 requests per minute have been refused with 429 for 10 minutes"
            ' (now {{ $value | printf "%.1f" }}/min): a misbehaving client or a limit set too low.'
        ),
    ),
    AlertRule(
        name="RateLimitBackendErrors",
        expr="sum by (job) (increase(rate_limit_backend_errors_total[5m])) > 0",
        for_="5m",
        severity="warning",
        summary="The rate limiter cannot reach Redis and lets requests through unchecked",
        description=(
            '{{ $value | printf "%.0f" }} rate-limit checks failed on Redis in the last'
            " 5 minutes; limits are not enforced while this lasts (fail open)."
        ),
    ),
)

RATE_LIMIT_RULE_TESTS = (
    RuleTest(
        name="HighRateLimitViolations fires at 30 refusals/min, not at 2/min",
        input_series=(
            Series(
                series='rate_limit_violations_total{endpoint="/api/tasks"}',
                values="0+30x30",
            ),
            Series(
                series='rate_limit_violations_total{job="calm", endpoint="/api/tasks"}',
                values="0+2x30",
            ),
        ),
        alert_rule_test=(
            AlertTest(eval_time="8m", alertname="HighRateLimitViolations"),
            AlertTest(
                eval_time="25m",
                alertname="HighRateLimitViolations",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
    RuleTest(
        name="RateLimitBackendErrors fires while Redis fails, not when errors stop",
        input_series=(
            Series(series="rate_limit_backend_errors_total", values="0+5x20"),
            Series(series='rate_limit_backend_errors_total{job="healed"}', values="0+5x3 15x20"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="3m", alertname="RateLimitBackendErrors"),
            AlertTest(
                eval_time="15m",
                alertname="RateLimitBackendErrors",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
)

RATE_LIMIT_PANELS = (
    Panel(
        title="Rate limit violations",
        kind="timeseries",
        row=RATE_LIMIT_ROW,
        unit="short",
        description="Requests refused with 429 per minute, by route template.",
        thresholds=(Threshold(color="green"), Threshold(color="orange", value=10.0)),
        queries=(
            Query(
                expr="sum by (endpoint) (rate(rate_limit_violations_total[5m])) * 60",
                legend="{{endpoint}} /min",
            ),
        ),
    ),
    Panel(
        title="Clients near their rate limit",
        kind="stat",
        row=RATE_LIMIT_ROW,
        unit="short",
        width=6,
        height=4,
        description="Clients per route group at 80% or more of their limit.",
        thresholds=(Threshold(color="green"), Threshold(color="orange", value=1.0)),
        queries=(Query(expr="max(rate_limit_near_limit)", legend="clients"),),
    ),
)
