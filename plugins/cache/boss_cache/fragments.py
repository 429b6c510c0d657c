"""The cache plugin's metrics, alerts, rule tests and panels (plain data, no app needed)."""

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
    "CACHE_ALERTS",
    "CACHE_METRICS",
    "CACHE_PANELS",
    "CACHE_RULE_TESTS",
    "OPERATIONS",
    "REDIS_OPERATIONS",
    "RESULTS",
)

OPERATIONS = ("get", "set", "delete", "incr")
RESULTS = ("hit", "miss", "ok", "error")
REDIS_OPERATIONS = (*OPERATIONS, "ping", "epoch")
REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

CACHE_METRICS = (
    MetricSpec(
        name="cache_operations_total",
        kind="counter",
        help=(
            "Cache operations by result: get answers hit or miss, set/delete/incr answer ok;"
            " error means Redis failed or the circuit was open (callers then see a miss)."
        ),
        labels=("operation", "result"),
        label_values={"operation": OPERATIONS, "result": RESULTS},
    ),
    MetricSpec(
        name="redis_operation_duration_seconds",
        kind="histogram",
        help="Time of each Redis round trip of the cache, by operation (failures included).",
        labels=("operation",),
        label_values={"operation": REDIS_OPERATIONS},
        buckets=REDIS_BUCKETS,
        unit="seconds",
    ),
    MetricSpec(
        name="redis_connection_errors_total",
        kind="counter",
        help="Redis calls of the cache that failed (refused, timed out, reset, protocol error).",
    ),
    MetricSpec(
        name="cache_circuit_open",
        kind="gauge",
        help="1 while the cache's circuit breaker is open (Redis is skipped), else 0.",
        multiprocess_mode="livemax",
    ),
)

_HIT = 'cache_operations_total{operation="get", result="hit"}'
_LOOKUPS = 'cache_operations_total{operation="get", result=~"hit|miss"}'

CACHE_ALERTS = (
    AlertRule(
        name="LowCacheHitRate",
        expr=(
            f"sum by (job) (rate({_HIT}[10m])) / sum by (job) (rate({_LOOKUPS}[10m])) < 0.5"
            f" and sum by (job) (rate({_LOOKUPS}[10m])) > 0.1"
        ),
        for_="15m",
        severity="info",
        summary="Fewer than half of the cache lookups hit",
        description=(
            "The cache answered {{ $value | humanizePercentage }} of lookups from Redis over"
            " 10 minutes; the database carries the rest. TTLs may be too short or writes"
            " too frequent."
        ),
    ),
    AlertRule(
        name="RedisConnectionErrors",
        expr="sum by (job) (increase(redis_connection_errors_total[5m])) > 3",
        for_="5m",
        severity="warning",
        summary="The cache keeps failing to reach Redis",
        description=(
            '{{ $value | printf "%.0f" }} Redis calls failed in 5 minutes. Requests are'
            " answered from the database (slower); /health/ready names the cache as failing."
        ),
    ),
)

CACHE_RULE_TESTS = (
    RuleTest(
        name="LowCacheHitRate fires at 20% hits, not at 90% hits",
        input_series=(
            Series(
                series='cache_operations_total{operation="get", result="hit"}',
                values="0+20x40",
            ),
            Series(
                series='cache_operations_total{operation="get", result="miss"}',
                values="0+80x40",
            ),
            Series(
                series='cache_operations_total{job="good", operation="get", result="hit"}',
                values="0+90x40",
            ),
            Series(
                series='cache_operations_total{job="good", operation="get", result="miss"}',
                values="0+10x40",
            ),
        ),
        alert_rule_test=(
            AlertTest(eval_time="10m", alertname="LowCacheHitRate"),
            AlertTest(
                eval_time="35m",
                alertname="LowCacheHitRate",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "info"}),),
            ),
        ),
    ),
    RuleTest(
        name="LowCacheHitRate stays quiet without traffic",
        input_series=(
            Series(
                series='cache_operations_total{operation="get", result="hit"}',
                values="0x40",
            ),
            Series(
                series='cache_operations_total{operation="get", result="miss"}',
                values="0+1x40",
            ),
        ),
        alert_rule_test=(AlertTest(eval_time="35m", alertname="LowCacheHitRate"),),
    ),
    RuleTest(
        name="RedisConnectionErrors fires while Redis fails, not after a single blip",
        input_series=(
            Series(series="redis_connection_errors_total", values="0+10x20"),
            Series(series='redis_connection_errors_total{job="blip"}', values="0 2 2x20"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="3m", alertname="RedisConnectionErrors"),
            AlertTest(
                eval_time="15m",
                alertname="RedisConnectionErrors",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
)

CACHE_PANELS = (
    Panel(
        title="Cache hit rate (%)",
        kind="timeseries",
        unit="percent",
        description="Share of cache lookups answered from the cache (errors excluded).",
        thresholds=(
            Threshold(color="red"),
            Threshold(color="orange", value=50.0),
            Threshold(color="green", value=80.0),
        ),
        queries=(
            Query(
                # "or vector(0)": lookups without a hit yet are 0 %, not "No data".
                expr=(
                    f"100 * (sum(rate({_HIT}[5m])) or vector(0))"
                    f" / clamp_min(sum(rate({_LOOKUPS}[5m])), 1e-9)"
                ),
                legend="hit rate",
            ),
        ),
    ),
    Panel(
        title="Redis latency p95",
        kind="timeseries",
        unit="s",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=0.05),
            Threshold(color="red", value=0.25),
        ),
        queries=(
            Query(
                expr=(
                    "histogram_quantile(0.95, sum by (operation, le)"
                    " (rate(redis_operation_duration_seconds_bucket[5m])))"
                ),
                legend="{{operation}}",
            ),
        ),
    ),
    Panel(
        title="Cache operations",
        kind="timeseries",
        unit="ops",
        description="Cache operations per second by operation and result; errors in red.",
        queries=(
            Query(
                expr="sum by (operation, result) (rate(cache_operations_total[5m]))",
                legend="{{operation}} {{result}}",
            ),
            Query(
                expr="sum(rate(redis_connection_errors_total[5m]))",
                legend="Redis connection errors",
            ),
        ),
    ),
)
