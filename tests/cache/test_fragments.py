"""The cache plugin's alerts fire and stay quiet as their promtool rule tests say."""

from __future__ import annotations

from pathlib import Path

from boss_cache import CachePlugin

from tests.cache.promtool_rules import run_rule_tests


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    for alert in CachePlugin.alerts:
        cases = [
            case
            for test in CachePlugin.rule_tests
            for case in test.alert_rule_test
            if case.alertname == alert.name
        ]
        assert any(case.exp_alerts for case in cases), f"{alert.name} never expected to fire"
        assert any(not case.exp_alerts for case in cases), f"{alert.name} never expected quiet"
        assert alert.summary
        assert alert.description
        runbook = Path(__file__).resolve().parents[2] / "docs" / "runbooks" / alert.runbook_page
        assert runbook.exists(), f"missing runbook {runbook}"


def test_rule_tests_pass_in_promtool(tmp_path: Path) -> None:
    output = run_rule_tests("cache", CachePlugin.alerts, CachePlugin.rule_tests, tmp_path)
    assert "SUCCESS" in output


def test_seed_metric_names_and_labels_are_kept() -> None:
    specs = {spec.name: spec for spec in CachePlugin.metrics}
    assert specs["cache_operations_total"].labels == ("operation", "result")
    assert specs["redis_operation_duration_seconds"].labels == ("operation",)
    assert specs["redis_connection_errors_total"].labels == ()
    assert {alert.name: alert.severity for alert in CachePlugin.alerts}["LowCacheHitRate"] == "info"
    titles = {panel.title for panel in CachePlugin.panels}
    assert {"Cache hit rate (%)", "Redis latency p95", "Cache operations"} <= titles
