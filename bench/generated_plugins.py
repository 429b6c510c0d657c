"""Synthetic plugins for the build benchmark: each like a small real one.

Every plugin declares a counter and a histogram, a recording rule, one alert with a rule
test where it fires and one where it does not, and two panels, so the build validates,
renders and unit-tests as much per plugin as a built-in plugin makes it do.
"""

from __future__ import annotations

from pathlib import Path

from boss import (
    AlertRule,
    AlertTest,
    BossPlugin,
    ExpectedAlert,
    MetricSpec,
    Panel,
    Query,
    RecordingRule,
    RuleTest,
    Series,
)

__all__ = ("alert_name", "generate", "write_runbooks")


def alert_name(index: int) -> str:
    """The alert of generated plugin ``index``."""
    return f"Gen{index:04d}Failures"


def _plugin(index: int) -> BossPlugin:
    name = f"gen_{index:04d}"
    events = f"{name}_events_total"
    duration = f"{name}_duration_seconds"
    ratio = f"{name}:errors:ratio_rate5m"
    attributes = {
        "name": name,
        "metrics": (
            MetricSpec(
                name=events,
                kind="counter",
                help=f"Events handled by {name}, by outcome.",
                labels=("outcome",),
                label_values={"outcome": ("ok", "error")},
            ),
            MetricSpec(
                name=duration,
                kind="histogram",
                help=f"Time {name} takes per event.",
                buckets=(0.01, 0.1, 1.0, 10.0),
                unit="seconds",
            ),
        ),
        "recording_rules": (
            RecordingRule(
                record=ratio,
                expr=f'sum(rate({events}{{outcome="error"}}[5m])) / sum(rate({events}[5m]))',
            ),
        ),
        "alerts": (
            AlertRule(
                name=alert_name(index),
                expr=f"{ratio} > 0.1",
                for_="5m",
                severity="warning",
                summary=f"{name}: more than 10% of events fail",
                description="{{ $value | humanizePercentage }} of events failed over 5 minutes.",
            ),
        ),
        "rule_tests": (
            RuleTest(
                name=f"{alert_name(index)} fires at 50% errors, not at 1%",
                input_series=(
                    Series(series=f'{events}{{outcome="ok"}}', values="0+50x30"),
                    Series(series=f'{events}{{outcome="error"}}', values="0+50x15 750+1x15"),
                ),
                alert_rule_test=(
                    AlertTest(
                        eval_time="12m",
                        alertname=alert_name(index),
                        exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
                    ),
                    AlertTest(eval_time="29m", alertname=alert_name(index)),
                ),
            ),
        ),
        "panels": (
            Panel(
                title=f"{name} events per second",
                kind="timeseries",
                unit="ops",
                queries=(
                    Query(expr=f"sum by (outcome) (rate({events}[5m]))", legend="{{outcome}}"),
                ),
            ),
            Panel(
                title=f"{name} duration p95",
                kind="timeseries",
                unit="s",
                queries=(
                    Query(
                        expr=f"histogram_quantile(0.95, sum by (le) (rate({duration}_bucket[5m])))",
                        legend="p95",
                    ),
                ),
            ),
        ),
    }
    cls: type[BossPlugin] = type(f"Gen{index:04d}Plugin", (BossPlugin,), attributes)
    return cls()


def generate(count: int) -> list[BossPlugin]:
    """``count`` distinct generated plugins."""
    return [_plugin(index) for index in range(count)]


def write_runbooks(count: int, directory: Path) -> None:
    """A runbook page for every generated alert (the build insists on them)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (directory / f"{alert_name(index)}.md").write_text(
            f"# {alert_name(index)}\n\nSynthetic alert for the build benchmark.\n"
        )
