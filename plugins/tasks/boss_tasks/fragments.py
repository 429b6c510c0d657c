"""The tasks plugin's metrics, alerts (with promtool rule tests) and dashboard panels."""

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
from boss_tasks.workflow import PRIORITIES, STATUSES

__all__ = ("TASK_ALERTS", "TASK_METRICS", "TASK_PANELS", "TASK_RULE_TESTS")

ASSIGNEE_BOUND = "a known assignee (BOSS_TASKS__KNOWN_ASSIGNEES) by name, else other or unassigned"

TASK_METRICS = (
    MetricSpec(
        name="tasks_created_total",
        kind="counter",
        help="Tasks created, by assignee (known ones by name, else other/unassigned) and priority.",
        labels=("assignee", "priority"),
        label_values={"priority": PRIORITIES},
        label_bounds={"assignee": ASSIGNEE_BOUND},
        max_series=1000,
    ),
    MetricSpec(
        name="tasks_completed_total",
        kind="counter",
        help="Tasks moved to completed, by assignee (known ones by name, else other/unassigned).",
        labels=("assignee",),
        label_bounds={"assignee": ASSIGNEE_BOUND},
        max_series=250,
    ),
    MetricSpec(
        name="tasks_by_status",
        kind="gauge",
        help=(
            "Tasks in each status, database-wide (re-read on an interval). Every worker and "
            "replica reports the same figure: aggregate with max, never sum."
        ),
        labels=("status",),
        label_values={"status": STATUSES},
        multiprocess_mode="livemostrecent",
    ),
)

STALLED = (
    '(max(tasks_by_status{status="in_progress"}) > 0) and on () '
    "((sum(increase(tasks_completed_total[1d])) or vector(0)) == 0)"
)

TASK_ALERTS = (
    AlertRule(
        name="TaskCompletionsStalled",
        expr=STALLED,
        for_="1h",
        severity="info",
        summary="No task has been completed for a day although work is in progress",
        description=(
            "{{ $value }} tasks are in progress, but tasks_completed_total has not increased "
            "for 24 hours: the workflow (or the team) may be stuck."
        ),
    ),
    AlertRule(
        name="TasksBlockedPilingUp",
        expr='max(tasks_by_status{status="blocked"}) > 10',
        for_="4h",
        severity="warning",
        summary="More than 10 tasks have been blocked for 4 hours",
        description="{{ $value }} tasks are in status blocked; something they wait on is not moving.",
    ),
)

TASK_RULE_TESTS = (
    RuleTest(
        name="TaskCompletionsStalled fires after a day without completions",
        input_series=(
            Series(series='tasks_by_status{status="in_progress"}', values="3x1900"),
            Series(series='tasks_completed_total{assignee="ana"}', values="0+1x20 20x1900"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="12h", alertname="TaskCompletionsStalled"),
            AlertTest(
                eval_time="30h",
                alertname="TaskCompletionsStalled",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "info"}),),
            ),
        ),
    ),
    RuleTest(
        name="TaskCompletionsStalled stays quiet when nothing is in progress",
        input_series=(Series(series='tasks_by_status{status="in_progress"}', values="0x1900"),),
        alert_rule_test=(AlertTest(eval_time="30h", alertname="TaskCompletionsStalled"),),
    ),
    RuleTest(
        name="TasksBlockedPilingUp fires after 4 h above 10 blocked tasks",
        input_series=(
            Series(series='tasks_by_status{status="blocked"}', values="4x60 12x400"),
            Series(series='tasks_by_status{status="pending"}', values="40x460"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="50m", alertname="TasksBlockedPilingUp"),
            AlertTest(eval_time="3h", alertname="TasksBlockedPilingUp"),
            AlertTest(
                eval_time="6h",
                alertname="TasksBlockedPilingUp",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
)

TASK_PANELS = (
    Panel(
        title="Tasks by status",
        kind="piechart",
        description="Database-wide task counts (max across instances: each reports the same).",
        queries=(
            Query(expr="max by (status) (tasks_by_status)", legend="{{status}}", instant=True),
        ),
    ),
    Panel(
        title="Task creation rate",
        kind="timeseries",
        unit="short",
        description="Tasks created per hour, by priority.",
        queries=(
            Query(
                expr="sum by (priority) (rate(tasks_created_total[15m])) * 3600",
                legend="{{priority}} tasks/h",
            ),
        ),
    ),
    Panel(
        title="Task completion rate",
        kind="timeseries",
        unit="short",
        description="Tasks completed per hour, by assignee.",
        queries=(
            Query(
                expr="sum by (assignee) (rate(tasks_completed_total[15m])) * 3600",
                legend="{{assignee}} tasks/h",
            ),
        ),
    ),
    Panel(
        title="Tasks in the database",
        kind="stat",
        width=6,
        height=4,
        description=(
            "Every task in the database now, in any status (deleted tasks are not counted;"
            " survives restarts, unlike the counters)."
        ),
        thresholds=(Threshold(color="blue"),),
        queries=(Query(expr="sum(max by (status) (tasks_by_status))", legend="tasks"),),
    ),
    Panel(
        title="Tasks in status completed",
        kind="stat",
        width=6,
        height=4,
        description="Tasks currently in status completed, database-wide (reopened ones leave it).",
        thresholds=(Threshold(color="green"),),
        queries=(Query(expr='max(tasks_by_status{status="completed"})', legend="completed"),),
    ),
)
