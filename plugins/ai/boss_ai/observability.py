"""The AI plugin's metrics, alert, rule tests and panels (plain data, no app needed)."""

from __future__ import annotations

from boss import (
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
    "AI_BUCKETS",
    "ALERTS",
    "METRICS",
    "OPERATIONS",
    "PANELS",
    "PROVIDER_FAILURES",
    "RULE_TESTS",
    "STATUSES",
)

AI_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
OPERATIONS = ("parse", "create")
STATUSES = ("ok", "bad_answer", "unavailable", "timeout", "error")

METRICS = (
    MetricSpec(
        name="ai_requests_total",
        kind="counter",
        help=(
            "Natural-language intake requests by operation (parse, create) and outcome: ok, "
            "bad_answer (502), unavailable (503), timeout (504), error (the task was refused)."
        ),
        labels=("operation", "status"),
        label_values={"operation": OPERATIONS, "status": STATUSES},
    ),
    MetricSpec(
        name="ai_request_duration_seconds",
        kind="histogram",
        help="Time the provider took to produce a draft, retries included, by operation.",
        labels=("operation",),
        buckets=AI_BUCKETS,
        label_values={"operation": OPERATIONS},
        unit="seconds",
    ),
)

PROVIDER_FAILURES = "bad_answer|unavailable|timeout"
"""Statuses that mean the provider failed; ``error`` (the tasks plugin refused the draft,
usually because of what the user wrote) is not the provider's fault."""

ALERTS = (
    AlertRule(
        name="AIRequestFailures",
        expr=(
            f'sum by (job) (rate(ai_requests_total{{status=~"{PROVIDER_FAILURES}"}}[5m]))'
            " / sum by (job) (rate(ai_requests_total[5m])) > 0.1"
        ),
        for_="5m",
        severity="warning",
        summary="More than 10% of AI intake requests fail at the provider",
        description=(
            "{{ $value | humanizePercentage }} of natural-language intake requests failed at "
            "the LLM provider over the last 5 minutes (ai_requests_total by status: bad_answer, "
            "unavailable, timeout); drafts refused because of their content are not counted."
        ),
    ),
)


def _series(status: str, values: str) -> Series:
    return Series(
        series=f'ai_requests_total{{operation="parse", status="{status}"}}',
        values=values,
    )


RULE_TESTS = (
    RuleTest(
        name="AIRequestFailures fires at 20% failures",
        input_series=(_series("ok", "0+8x30"), _series("timeout", "0+2x30")),
        alert_rule_test=(
            AlertTest(eval_time="3m", alertname="AIRequestFailures"),
            AlertTest(
                eval_time="20m",
                alertname="AIRequestFailures",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
    RuleTest(
        name="AIRequestFailures stays quiet at 5% failures",
        input_series=(_series("ok", "0+19x30"), _series("unavailable", "0+1x30")),
        alert_rule_test=(
            AlertTest(eval_time="10m", alertname="AIRequestFailures"),
            AlertTest(eval_time="25m", alertname="AIRequestFailures"),
        ),
    ),
    RuleTest(
        name="drafts refused for their content are no provider failure (15 s scrapes)",
        interval="15s",
        input_series=(
            _series("ok", "0+1x120"),
            _series("error", "0+1x120"),
            _series("bad_answer", "0x120"),
            _series("unavailable", "0x120"),
            _series("timeout", "0x120"),
        ),
        alert_rule_test=(AlertTest(eval_time="25m", alertname="AIRequestFailures"),),
    ),
    RuleTest(
        name="the provider timing out after a quiet start fires (series at 0 from start-up)",
        interval="15s",
        input_series=(
            _series("ok", "0+2x120"),
            _series("timeout", "0x40 0+1x80"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="9m", alertname="AIRequestFailures"),
            AlertTest(
                eval_time="25m",
                alertname="AIRequestFailures",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
)

PANELS = (
    Panel(
        title="AI request duration p95",
        kind="timeseries",
        unit="s",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=5.0),
            Threshold(color="red", value=20.0),
        ),
        queries=(
            Query(
                expr="histogram_quantile(0.95, sum by (operation, le) (rate(ai_request_duration_seconds_bucket[5m])))",
                legend="{{operation}}",
            ),
        ),
    ),
    Panel(
        title="AI requests and failures (req/min)",
        kind="timeseries",
        unit="short",
        description=(
            "Intake requests per minute, those the provider failed (bad_answer, unavailable,"
            " timeout; 0 while none failed) and drafts refused for their content (error)."
        ),
        queries=(
            Query(expr="sum(rate(ai_requests_total[5m])) * 60", legend="requests"),
            Query(
                expr=(
                    f'(sum(rate(ai_requests_total{{status=~"{PROVIDER_FAILURES}"}}[5m]))'
                    " or vector(0)) * 60"
                ),
                legend="provider failures",
            ),
            Query(
                expr='(sum(rate(ai_requests_total{status="error"}[5m])) or vector(0)) * 60',
                legend="refused drafts",
            ),
        ),
    ),
)
