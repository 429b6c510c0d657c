"""The database alerts pass their promtool rule tests; every alert fires in one and not in another."""

from __future__ import annotations

from pathlib import Path

from boss.core_plugin import CorePlugin
from boss.database.fragments import DB_ALERTS, DB_METRICS, DB_PANELS, DB_RULE_TESTS
from tests.cache.promtool_rules import run_rule_tests


def test_core_plugin_carries_the_database_fragments() -> None:
    for group, whole in (
        (DB_METRICS, CorePlugin.metrics),
        (DB_ALERTS, CorePlugin.alerts),
        (DB_RULE_TESTS, CorePlugin.rule_tests),
        (DB_PANELS, CorePlugin.panels),
    ):
        assert all(item in whole for item in group)
    assert {a.name for a in DB_ALERTS} == {"DatabasePoolExhaustion", "HighDatabaseLatency"}
    gauge = next(m for m in DB_METRICS if m.name == "db_pool_connections")
    assert gauge.multiprocess_mode == "livesum"


def test_each_alert_is_tested_firing_and_quiet() -> None:
    for alert in DB_ALERTS:
        checks = [
            check
            for test in DB_RULE_TESTS
            for check in test.alert_rule_test
            if check.alertname == alert.name
        ]
        assert any(check.exp_alerts for check in checks), alert.name
        assert any(not check.exp_alerts for check in checks), alert.name
        assert alert.summary
        assert alert.description
        runbook = Path(__file__).parents[2] / "boss" / "runbooks" / alert.runbook_page
        assert runbook.exists(), runbook


def test_promtool_runs_the_rule_tests(tmp_path: Path) -> None:
    run_rule_tests("core-database", DB_ALERTS, DB_RULE_TESTS, tmp_path)
