"""The tasks plugin's alerts pass their promtool rule tests; fragments refer to real metrics."""

from __future__ import annotations

import re
from pathlib import Path

from boss_tasks import TasksPlugin
from boss_tasks.fragments import TASK_ALERTS, TASK_RULE_TESTS

from boss.core_plugin import CorePlugin
from tests.cache.promtool_rules import run_rule_tests

DECLARED = {name for p in (TasksPlugin, CorePlugin) for m in p.metrics for name in m.sample_names}


def test_each_alert_is_tested_firing_and_quiet() -> None:
    for alert in TASK_ALERTS:
        checks = [
            check
            for test in TASK_RULE_TESTS
            for check in test.alert_rule_test
            if check.alertname == alert.name
        ]
        assert any(check.exp_alerts for check in checks), alert.name
        assert any(not check.exp_alerts for check in checks), alert.name
        runbook = Path(__file__).parents[2] / "docs" / "runbooks" / alert.runbook_page
        assert runbook.exists(), runbook


def test_queries_use_declared_metrics() -> None:
    exprs = [a.expr for a in TasksPlugin.alerts] + [
        q.expr for panel in TasksPlugin.panels for q in panel.queries
    ]
    for expr in exprs:
        for name in re.findall(r"\b(tasks_[a-z_]+)\b", expr):
            assert name in DECLARED, (name, expr)


def test_plugin_metadata() -> None:
    assert TasksPlugin.name == "tasks"
    assert TasksPlugin.migrations == "boss_tasks.migrations"
    by_status = next(m for m in TasksPlugin.metrics if m.name == "tasks_by_status")
    assert by_status.multiprocess_mode == "livemostrecent"
    titles = {p.title for p in TasksPlugin.panels}
    assert {"Tasks by status", "Task creation rate", "Task completion rate"} <= titles


def test_promtool_runs_the_rule_tests(tmp_path: Path) -> None:
    run_rule_tests("tasks", TASK_ALERTS, TASK_RULE_TESTS, tmp_path)
