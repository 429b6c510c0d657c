"""The core's database metric set, alerts, rule tests and panels (merged into ``CorePlugin``)."""

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
from boss.database.instrumentation import OPERATIONS, POOL_STATES
from boss.database.retry import FAULT_ACTIONS, FAULT_KINDS

__all__ = ("DB_ALERTS", "DB_BUCKETS", "DB_METRICS", "DB_PANELS", "DB_ROW", "DB_RULE_TESTS")

DB_ROW = "Core: database"
"""The dashboard row of the database panels."""
DB_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

DB_METRICS = (
    MetricSpec(
        name="db_queries_total",
        kind="counter",
        help="SQL statements executed, by operation (the statement's first keyword).",
        labels=("operation",),
        label_values={"operation": OPERATIONS},
    ),
    MetricSpec(
        name="db_query_duration_seconds",
        kind="histogram",
        help="Time to execute one SQL statement, by operation.",
        labels=("operation",),
        buckets=DB_BUCKETS,
        label_values={"operation": OPERATIONS},
        unit="seconds",
    ),
    MetricSpec(
        name="db_pool_connections",
        kind="gauge",
        help="Database connection pool: connections checked out, idle, in overflow, pool size.",
        labels=("state",),
        label_values={"state": POOL_STATES},
        # Every worker has its own pool: the process's connections are the sum.
        multiprocess_mode="livesum",
    ),
    MetricSpec(
        name="db_connection_faults_total",
        kind="counter",
        help=(
            "Requests that met a database connection fault, by kind (disconnect: the "
            "connection died; unavailable: refused, saturated or busy) and action (retried "
            "once on a fresh connection, or rejected with 503)."
        ),
        labels=("kind", "action"),
        label_values={"kind": FAULT_KINDS, "action": FAULT_ACTIONS},
    ),
)

DB_ALERTS = (
    AlertRule(
        name="DatabasePoolExhaustion",
        expr='sum by (job, instance) (db_pool_connections{state="overflow"}) > 5',
        for_="2m",
        severity="warning",
        summary="Database pool of {{ $labels.instance }} runs on overflow connections",
        description=(
            "{{ $value }} overflow connections are open beyond the configured pool size for "
            "2 minutes: requests are queueing for the database."
        ),
    ),
    AlertRule(
        name="HighDatabaseLatency",
        expr=(
            "histogram_quantile(0.95, sum by (job, le) "
            "(rate(db_query_duration_seconds_bucket[5m]))) > 1"
        ),
        for_="5m",
        severity="warning",
        summary="p95 database query time above 1 s",
        description="The 95th percentile of SQL statement durations is {{ $value | humanizeDuration }}.",
    ),
)


def _bucket(job: str | None, le: str, values: str) -> Series:
    """A bucket of boss (``job=None``: the build stamps its job) or of a foreign job."""
    scope = f'job="{job}", ' if job else ""
    return Series(
        series=f'db_query_duration_seconds_bucket{{{scope}operation="select", le="{le}"}}',
        values=values,
    )


DB_RULE_TESTS = (
    RuleTest(
        name="DatabasePoolExhaustion fires after 2 minutes above 5 overflow connections",
        input_series=(
            Series(
                series='db_pool_connections{instance="a:8000", state="overflow"}',
                values="0 2 8 8 8 8 8 8",
            ),
            Series(
                series='db_pool_connections{instance="b:8000", state="overflow"}',
                values="0 5 5 5 5 5 5 5",
            ),
        ),
        alert_rule_test=(
            AlertTest(eval_time="2m", alertname="DatabasePoolExhaustion"),
            AlertTest(
                eval_time="6m",
                alertname="DatabasePoolExhaustion",
                exp_alerts=(
                    ExpectedAlert(exp_labels={"severity": "warning", "instance": "a:8000"}),
                ),
            ),
        ),
    ),
    RuleTest(
        name="HighDatabaseLatency fires when p95 is above 1 s, not when queries are fast",
        input_series=(
            _bucket(None, "0.5", "0+1x20"),
            _bucket(None, "2.5", "0+100x20"),
            _bucket(None, "+Inf", "0+100x20"),
            _bucket("fast", "0.5", "0+100x20"),
            _bucket("fast", "+Inf", "0+100x20"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="3m", alertname="HighDatabaseLatency"),
            AlertTest(
                eval_time="15m",
                alertname="HighDatabaseLatency",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
)

DB_PANELS = (
    Panel(
        title="Database pool status",
        kind="timeseries",
        row=DB_ROW,
        unit="short",
        description="Connections checked out, idle and in overflow, against the pool size.",
        queries=(Query(expr="sum by (state) (db_pool_connections)", legend="{{state}}"),),
    ),
    Panel(
        title="Database query duration p95",
        kind="timeseries",
        row=DB_ROW,
        unit="s",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=0.5),
            Threshold(color="red", value=1.0),
        ),
        queries=(
            Query(
                expr=(
                    "histogram_quantile(0.95, sum by (operation, le) "
                    "(rate(db_query_duration_seconds_bucket[5m])))"
                ),
                legend="{{operation}}",
            ),
        ),
    ),
    Panel(
        title="Database query rate",
        kind="stat",
        row=DB_ROW,
        unit="ops",
        width=6,
        height=4,
        description="SQL statements per second over the last 5 minutes.",
        queries=(Query(expr="sum(rate(db_queries_total[5m]))", legend="queries/s"),),
    ),
)
