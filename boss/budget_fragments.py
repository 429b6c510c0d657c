"""The alert on series budgets: a metric folded label values into ``__overflow__``."""

from __future__ import annotations

from boss._specs import AlertRule, AlertTest, ExpectedAlert, RuleTest, Series

__all__ = ("BUDGET_ALERTS", "BUDGET_RULE_TESTS")

BUDGET_ALERTS = (
    AlertRule(
        name="MetricSeriesOverBudget",
        expr="sum by (metric) (increase(boss_metric_series_overflow_total[15m])) > 0",
        severity="warning",
        summary="Metric {{ $labels.metric }} is past its series budget",
        description=(
            "{{ $labels.metric }} has more label-value combinations than its max_series in at "
            "least one process: new ones are counted under the label value __overflow__ "
            "({{ $value }} lookups folded in 15 minutes), so per-label queries undercount."
        ),
    ),
)


def _overflow(values: str) -> Series:
    return Series(
        series='boss_metric_series_overflow_total{metric="tasks_created_total"}', values=values
    )


BUDGET_RULE_TESTS = (
    RuleTest(
        name="MetricSeriesOverBudget fires while a metric folds and clears after",
        input_series=(_overflow("0x20 1+1x10 10x40"),),
        alert_rule_test=(
            AlertTest(eval_time="15m", alertname="MetricSeriesOverBudget"),
            AlertTest(
                eval_time="25m",
                alertname="MetricSeriesOverBudget",
                exp_alerts=(
                    ExpectedAlert(
                        exp_labels={"severity": "warning", "metric": "tasks_created_total"}
                    ),
                ),
            ),
            AlertTest(eval_time="60m", alertname="MetricSeriesOverBudget"),
        ),
    ),
)
