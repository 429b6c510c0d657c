"""Runtime metrics of every worker (process, Python GC, event loop, build) with their alerts,
rule tests and dashboard row; merged into ``CorePlugin`` like the database and rate-limit sets.

Names are prometheus-client's standard ones (``process_*``, ``python_*``), so existing queries
and dashboards carry over. Per-process values carry a ``worker`` label (the worker's pid) and
a live multiprocess mode, so with ``boss serve --workers N`` every worker has its own series
and a dead worker's series disappear. Monotone per-process totals (CPU seconds, GC counts)
are therefore gauges holding the absolute value: a counter's per-process file would outlive
its worker in multiprocess mode, so its series could never disappear (see
``docs/architecture.md``, "Runtime metrics").
"""

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
    "GC_GENERATIONS",
    "LOOP_LAG_BUCKETS",
    "RUNTIME_ALERTS",
    "RUNTIME_METRICS",
    "RUNTIME_PANELS",
    "RUNTIME_ROW",
    "RUNTIME_RULE_TESTS",
    "WORKER_BUDGET",
)

WORKER_BUDGET = 64
"""Series budget of a per-worker metric: at most this many workers per instance."""
GC_GENERATIONS = ("0", "1", "2")
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RUNTIME_ROW = "Runtime"


def _per_worker(name: str, help_: str, unit: str = "") -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="gauge",
        help=help_,
        labels=("worker",),
        multiprocess_mode="livesum",
        max_series=WORKER_BUDGET,
        unit=unit,
    )


def _gc(name: str, help_: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="gauge",
        help=help_,
        labels=("worker", "generation"),
        label_values={"generation": GC_GENERATIONS},
        multiprocess_mode="livesum",
        max_series=WORKER_BUDGET * len(GC_GENERATIONS),
    )


_TOTAL_NOTE = " A per-worker running total exposed as a gauge (rate() it like a counter)."

RUNTIME_METRICS = (
    _per_worker(
        "process_resident_memory_bytes", "Resident memory size in bytes, per worker.", "bytes"
    ),
    _per_worker(
        "process_virtual_memory_bytes", "Virtual memory size in bytes, per worker.", "bytes"
    ),
    _per_worker(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds, per worker." + _TOTAL_NOTE,
        "seconds",
    ),
    _per_worker("process_open_fds", "Number of open file descriptors, per worker."),
    _per_worker("process_max_fds", "Maximum number of open file descriptors, per worker."),
    _per_worker(
        "process_start_time_seconds",
        "Start time of the worker process since unix epoch in seconds.",
        "seconds",
    ),
    _gc(
        "python_gc_collections_total",
        "Number of times this generation was collected, per worker." + _TOTAL_NOTE,
    ),
    _gc(
        "python_gc_objects_collected_total",
        "Objects collected during gc, per worker." + _TOTAL_NOTE,
    ),
    _gc(
        "python_gc_objects_uncollectable_total",
        "Uncollectable objects found during GC, per worker." + _TOTAL_NOTE,
    ),
    MetricSpec(
        name="python_info",
        kind="gauge",
        help="Python platform information (always 1).",
        labels=("implementation", "major", "minor", "patchlevel", "version"),
        multiprocess_mode="livemax",
        max_series=1,
    ),
    MetricSpec(
        name="boss_event_loop_lag_seconds",
        kind="histogram",
        help=(
            "How late a periodic event-loop timer fired, in seconds: time the loop spent on"
            " other work (blocking code, long callbacks) while the timer was due."
        ),
        buckets=LOOP_LAG_BUCKETS,
        unit="seconds",
    ),
    _per_worker(
        "boss_http_requests_in_flight",
        "HTTP requests being answered right now, per worker (sampled off the request path).",
    ),
    MetricSpec(
        name="boss_build_info",
        kind="gauge",
        help="The running boss version with its Python and Litestar versions (always 1).",
        labels=("version", "python", "litestar"),
        multiprocess_mode="livemax",
        max_series=1,
    ),
    MetricSpec(
        name="boss_plugin_info",
        kind="gauge",
        help="One series per loaded plugin: its name, distribution and version (always 1).",
        labels=("name", "version", "distribution"),
        multiprocess_mode="livemax",
        max_series=WORKER_BUDGET,
    ),
)

LOOP_LAG_P99 = (
    "histogram_quantile(0.99, sum by (instance, le) (rate(boss_event_loop_lag_seconds_bucket[5m])))"
)

RUNTIME_ALERTS = (
    AlertRule(
        name="EventLoopLagHigh",
        expr=f"{LOOP_LAG_P99} > 0.1",
        for_="10m",
        severity="warning",
        summary="The event loop of {{ $labels.instance }} is blocked for long stretches",
        description=(
            "The 99th percentile of event-loop timer lateness has been"
            " {{ $value | humanizeDuration }} for 10 minutes: something runs blocking code on"
            " the loop, so every request on that worker waits."
        ),
    ),
    AlertRule(
        name="FileDescriptorsNearLimit",
        expr=("max by (instance, worker) (process_open_fds / process_max_fds) > 0.8"),
        for_="5m",
        severity="warning",
        summary="Worker {{ $labels.worker }} of {{ $labels.instance }} uses most of its file descriptors",
        description=(
            "{{ $value | humanizePercentage }} of the file-descriptor limit is in use for"
            " 5 minutes; at the limit new connections and files fail with EMFILE."
        ),
    ),
)

# The build adds job and the deployment labels to these series and to the expected alerts
# (boss/monitoring/scoping.py), so the tests hold for any --job and --deployment-labels.
_TARGET = 'instance="boss:8000"'
_CALM = 'instance="calm:8000"'
_TARGET_LABELS = {"instance": "boss:8000"}


def _lag(target: str, le: str, values: str) -> Series:
    return Series(
        series=f'boss_event_loop_lag_seconds_bucket{{{target}, le="{le}"}}', values=values
    )


RUNTIME_RULE_TESTS = (
    RuleTest(
        name="EventLoopLagHigh fires after 10 minutes of a blocked loop, not on a healthy one",
        input_series=(
            # Two ticks a second; on the blocked instance 5% of them are 0.3 s late.
            _lag(_TARGET, "0.01", "0+114x30"),
            _lag(_TARGET, "0.1", "0+114x30"),
            _lag(_TARGET, "0.5", "0+120x30"),
            _lag(_TARGET, "+Inf", "0+120x30"),
            _lag(_CALM, "0.01", "0+119x30"),
            _lag(_CALM, "0.1", "0+120x30"),
            _lag(_CALM, "0.5", "0+120x30"),
            _lag(_CALM, "+Inf", "0+120x30"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="8m", alertname="EventLoopLagHigh"),
            AlertTest(
                eval_time="20m",
                alertname="EventLoopLagHigh",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning", **_TARGET_LABELS}),),
            ),
        ),
    ),
    RuleTest(
        name="FileDescriptorsNearLimit fires for the worker above 80%, not below",
        input_series=(
            Series(series=f'process_open_fds{{{_TARGET}, worker="101"}}', values="100 900x10"),
            Series(series=f'process_max_fds{{{_TARGET}, worker="101"}}', values="1024x10"),
            Series(series=f'process_open_fds{{{_TARGET}, worker="102"}}', values="100 700x10"),
            Series(series=f'process_max_fds{{{_TARGET}, worker="102"}}', values="1024x10"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="3m", alertname="FileDescriptorsNearLimit"),
            AlertTest(
                eval_time="8m",
                alertname="FileDescriptorsNearLimit",
                exp_alerts=(
                    ExpectedAlert(
                        exp_labels={"severity": "warning", "worker": "101", **_TARGET_LABELS}
                    ),
                ),
            ),
        ),
    ),
)

RUNTIME_PANELS = (
    Panel(
        title="Resident memory",
        kind="timeseries",
        unit="bytes",
        row=RUNTIME_ROW,
        width=8,
        description="Resident set size of every worker.",
        queries=(
            Query(
                expr="sum by (instance, worker) (process_resident_memory_bytes)",
                legend="{{instance}} worker {{worker}}",
            ),
        ),
    ),
    Panel(
        title="CPU usage",
        kind="timeseries",
        unit="percentunit",
        row=RUNTIME_ROW,
        width=8,
        description="CPU time per second of every worker (1 = one core busy).",
        queries=(
            Query(
                expr="sum by (instance, worker) (rate(process_cpu_seconds_total[5m]))",
                legend="{{instance}} worker {{worker}}",
            ),
        ),
    ),
    Panel(
        title="File descriptors used",
        kind="timeseries",
        unit="percentunit",
        row=RUNTIME_ROW,
        width=8,
        description="Open file descriptors as a share of each worker's limit (alert at 80%).",
        thresholds=(Threshold(color="green"), Threshold(color="red", value=0.8)),
        queries=(
            Query(
                expr="max by (instance, worker) (process_open_fds / process_max_fds)",
                legend="{{instance}} worker {{worker}}",
            ),
        ),
    ),
    Panel(
        title="Event-loop lag p99",
        kind="timeseries",
        unit="s",
        row=RUNTIME_ROW,
        width=8,
        description="99th percentile of how late a 0.5 s loop timer fires (alert above 0.1 s).",
        thresholds=(
            Threshold(color="green"),
            Threshold(color="orange", value=0.05),
            Threshold(color="red", value=0.1),
        ),
        queries=(
            Query(
                expr=(
                    "histogram_quantile(0.99, sum by (instance, le)"
                    " (rate(boss_event_loop_lag_seconds_bucket[5m])))"
                ),
                legend="{{instance}}",
            ),
        ),
    ),
    Panel(
        title="In-flight requests",
        kind="timeseries",
        unit="short",
        row=RUNTIME_ROW,
        width=8,
        description="Requests being answered by every worker when it was last sampled.",
        queries=(
            Query(
                expr="sum by (instance, worker) (boss_http_requests_in_flight)",
                legend="{{instance}} worker {{worker}}",
            ),
        ),
    ),
    Panel(
        title="GC collections",
        kind="timeseries",
        unit="short",
        row=RUNTIME_ROW,
        width=8,
        description="Python garbage collections per second, by generation.",
        queries=(
            Query(
                expr="sum by (instance, generation) (rate(python_gc_collections_total[5m]))",
                legend="{{instance}} gen {{generation}}",
            ),
        ),
    ),
    Panel(
        title="Running versions",
        kind="table",
        unit="short",
        row=RUNTIME_ROW,
        width=24,
        height=6,
        description="boss, Python and Litestar versions per instance (deploys show as annotations).",
        queries=(
            Query(
                expr="max by (instance, version, python, litestar) (boss_build_info)",
                instant=True,
            ),
        ),
    ),
)
