"""The build's PromQL rewrite: every selector scoped, deployment labels kept, idempotent."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from boss.monitoring import BuildOptions, render
from boss.monitoring.promql import read_query
from boss.monitoring.scoping import keeps_label, panel_scope, rule_scope, scope_expr

from .conftest import load

RULES = rule_scope(BuildOptions(job="api", deployment_labels=("region", "environment")))
PANELS = panel_scope(BuildOptions())


@pytest.mark.parametrize(
    ("expr", "scoped"),
    [
        ("up == 0", 'up{job="api"} == 0'),
        (
            'sum by (job) (rate(x_total{a="b"}[5m]))',
            'sum by (job, region, environment) (rate(x_total{a="b", job="api"}[5m]))',
        ),
        ("max(x)", 'max by (job, region, environment) (x{job="api"})'),
        (
            "histogram_quantile(0.9, sum(rate(h_bucket[5m])) by (le))",
            'histogram_quantile(0.9, sum(rate(h_bucket{job="api"}[5m])) by (le, job, region, environment))',
        ),
        ("sum without (instance) (x)", 'sum without (instance) (x{job="api"})'),
        (
            "a / on (k) group_left (m) b",
            'a{job="api"} / on (k, job, region, environment) group_left (m) b{job="api"}',
        ),
        (
            "sum(x) or vector(0)",
            'sum by (job, region, environment) (x{job="api"}) or (0 * group by (job, region,'
            ' environment) (up{job="api"}) + (0))',
        ),
        ('x{job="other"} offset 5m', 'x{job="other"} offset 5m'),
        (
            "increase(prometheus_rule_evaluation_failures_total[5m]) > 0",
            "increase(prometheus_rule_evaluation_failures_total[5m]) > 0",
        ),
        ('{__name__="x"}', '{__name__="x", job="api"}'),
        ("absent(up)", 'absent(up{job="api"})'),
    ],
)
def test_rule_rewrite(expr: str, scoped: str) -> None:
    assert scope_expr(expr, RULES) == scoped
    assert scope_expr(scoped, RULES) == scoped  # idempotent


def test_every_selector_of_a_rewritten_rule_names_the_job() -> None:
    expr = (
        "(max(tasks_by_status{status='x'}) > 0) and on () "
        "((sum(increase(tasks_completed_total[1d])) or vector(0)) == 0)"
    )
    refs = read_query(scope_expr(expr, RULES))
    assert refs.selectors
    assert all("job" in s.labels for s in refs.selectors)
    assert {"job", "region", "environment"} <= refs.grouping


@pytest.mark.parametrize(
    ("expr", "scoped"),
    [
        (
            "sum by (endpoint) (rate(x_total[5m]))",
            'sum by (endpoint) (rate(x_total{job=~"$job", cluster=~"$cluster",'
            ' environment=~"$environment", instance=~"$instance"}[$__rate_interval]))',
        ),
        (
            "sum(rate(x_total[15m])) * 3600",  # deliberately long: kept
            'sum(rate(x_total{job=~"$job", cluster=~"$cluster", environment=~"$environment",'
            ' instance=~"$instance"}[15m])) * 3600',
        ),
        (
            "max_over_time(x[5m:1m])",  # a subquery keeps its window
            'max_over_time(x{job=~"$job", cluster=~"$cluster", environment=~"$environment",'
            ' instance=~"$instance"}[5m:1m])',
        ),
    ],
)
def test_panel_rewrite(expr: str, scoped: str) -> None:
    assert scope_expr(expr, PANELS) == scoped
    assert scope_expr(scoped, PANELS) == scoped


def test_keeps_label_reads_aggregations_and_recorded_series() -> None:
    assert keeps_label('up{job="boss"} == 0', "instance")
    assert not keeps_label("sum by (job) (x)", "instance")
    assert keeps_label("sum by (job, instance) (x)", "instance")
    assert not keeps_label("sum without (instance) (x)", "instance")
    assert not keeps_label("r > 1", "instance", {"r": "sum by (job) (x)"})
    assert keeps_label("r > 1", "job", {"r": "sum by (job) (x)"})


def test_third_party_plugin_rules_and_panels_are_scoped(
    example_plugin: type[Any], options_for: Any
) -> None:
    loaded = load(example_plugin)
    opts = options_for(loaded, job="api", cache_dir=None)
    files = render(loaded, opts)
    rules = yaml.safe_load(files["monitoring/prometheus/rules/example.yml"])
    for rule in rules["groups"][0]["rules"]:
        refs = read_query(rule["expr"])
        assert all("job" in s.labels for s in refs.selectors), rule["expr"]
        assert 'job="api"' in rule["expr"]
    prom = yaml.safe_load(files["monitoring/prometheus/prometheus.yml"])
    assert prom["scrape_configs"][0]["job_name"] == "api"
    board = files["monitoring/grafana/dashboards/boss.json"]
    assert "[5m]" not in board
    assert '\\"$job\\"' in board or 'job=~\\"$job\\"' in board


def test_every_committed_rule_selects_boss_or_prometheus_itself() -> None:
    """The committed rules: plugin groups scoped to job="boss", the meta group to its own."""
    from .conftest import REPO

    for path in sorted((REPO / "monitoring/prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                refs = read_query(rule["expr"])
                for selector in refs.selectors:
                    if group["name"] == "self_monitoring":
                        assert "job" not in selector.labels, rule
                    else:
                        assert "job" in selector.labels, (path.name, rule["expr"])
                if group["name"] != "self_monitoring" and "by (" in rule["expr"]:
                    assert {"job", "cluster", "environment"} <= refs.grouping, rule["expr"]
