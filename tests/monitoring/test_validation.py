"""Every validation error of the build, each proven with a deliberately broken plugin.

Each message must name the plugin (with its entry point), the fragment and the problem,
and nothing may be rendered.
"""

from __future__ import annotations

from typing import Any

import pytest

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
from boss.monitoring import BuildError, render

from .conftest import load

WHERE = "plugin 'broken' (entry point <explicit>)"
METRICS = (
    MetricSpec(
        name="broken_jobs_total",
        kind="counter",
        help="Jobs done.",
        labels=("queue", "result"),
        max_series=100,
    ),
    MetricSpec(
        name="broken_job_seconds",
        kind="histogram",
        help="Job durations.",
        labels=("queue",),
        buckets=(0.1, 1.0, 10.0),
        max_series=100,
    ),
    MetricSpec(
        name="broken_queue_depth",
        kind="gauge",
        help="Waiting jobs.",
        labels=("queue",),
        max_series=100,
    ),
)


def alert(name: str = "BrokenJobsFailing", **kw: Any) -> AlertRule:
    fields: dict[str, Any] = {
        "expr": 'sum by (queue) (rate(broken_jobs_total{result="error"}[5m])) > 1',
        "for_": "5m",
        "severity": "warning",
        "summary": "Jobs fail",
        "description": "More than one job per second fails.",
    }
    fields.update(kw)
    return AlertRule(name=name, **fields)


def rule_tests_for(*names: str) -> tuple[RuleTest, ...]:
    """A firing and a quiet case for each alert (series built to fire the default alert)."""
    return tuple(
        RuleTest(
            name=f"{name} fires and stays quiet",
            input_series=(
                Series(series='broken_jobs_total{queue="q", result="error"}', values="0+600x20"),
            ),
            alert_rule_test=(
                AlertTest(eval_time="1m", alertname=name),
                AlertTest(
                    eval_time="15m",
                    alertname=name,
                    exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning", "queue": "q"}),),
                ),
            ),
        )
        for name in names
    )


def broken(**attrs: Any) -> type[BossPlugin]:
    """A plugin named 'broken' with sane defaults overridden by ``attrs``."""
    attrs.setdefault("name", "broken")
    attrs.setdefault("metrics", METRICS)
    attrs.setdefault("alerts", (alert(),))
    attrs.setdefault("rule_tests", rule_tests_for("BrokenJobsFailing"))
    return type("BrokenPlugin", (BossPlugin,), attrs)


def build(options_for: Any, plugin: type[BossPlugin]) -> dict[str, str]:
    loaded = load(plugin)
    return render(loaded, options_for(loaded))


def problems_of(options_for: Any, plugin: type[BossPlugin]) -> str:
    with pytest.raises(BuildError) as info:
        build(options_for, plugin)
    return str(info.value)


def assert_names(message: str, *parts: str) -> None:
    for part in (WHERE, *parts):
        assert part in message, f"{part!r} missing from:\n{message}"


@pytest.mark.usefixtures("tools")
def test_the_sane_broken_plugin_builds(options_for: Any) -> None:
    loaded = load(
        broken(
            panels=(
                Panel(
                    title="Jobs",
                    kind="timeseries",
                    queries=(
                        Query(expr="sum by (queue, result) (rate(broken_jobs_total[5m]))"),
                        Query(
                            expr="histogram_quantile(0.9, sum by (le) (rate(broken_job_seconds_bucket[5m])))"
                        ),
                        Query(expr="sum(broken_job_seconds_sum) / sum(broken_job_seconds_count)"),
                        Query(expr='label_replace(broken_queue_depth, "q", "$1", "queue", "(.*)")'),
                    ),
                ),
            )
        )
    )
    files = render(loaded, options_for(loaded))
    assert "monitoring/prometheus/rules/broken.yml" in files
    assert "BrokenJobsFailing" in files["monitoring/prometheus/tests/broken.yml"]


def test_unknown_metric_in_alert(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="rate(broken_job_total[5m]) > 1"),))
    assert_names(
        problems_of(options_for, plugin),
        "alert 'BrokenJobsFailing'",
        "unknown metric 'broken_job_total'",
        "did you mean broken_jobs_total?",
    )


def test_histogram_needs_a_suffix(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="rate(broken_job_seconds[5m]) > 1"),))
    assert_names(
        problems_of(options_for, plugin),
        "unknown metric 'broken_job_seconds'",
        "use broken_job_seconds_bucket",
    )


def test_counter_without_total(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="rate(broken_jobs[5m]) > 1"),))
    assert_names(problems_of(options_for, plugin), "did you mean broken_jobs_total?")


def test_unknown_label_in_matcher(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr='rate(broken_jobs_total{status="error"}[5m]) > 1'),))
    assert_names(
        problems_of(options_for, plugin),
        "alert 'BrokenJobsFailing'",
        "metric 'broken_jobs_total' has no label 'status'",
    )


def test_le_only_on_buckets(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr='broken_job_seconds_count{le="1"} > 1'),))
    assert_names(problems_of(options_for, plugin), "has no label 'le'")


def test_unknown_label_in_grouping_of_a_panel(options_for: Any) -> None:
    panel = Panel(
        title="Jobs by worker",
        kind="timeseries",
        queries=(Query(expr="sum by (worker) (rate(broken_jobs_total[5m]))"),),
    )
    assert_names(
        problems_of(options_for, broken(panels=(panel,))),
        "panel 'Jobs by worker'",
        "unknown label 'worker'",
    )


def test_unknown_source_label_of_label_replace(options_for: Any) -> None:
    panel = Panel(
        title="Depth",
        kind="stat",
        queries=(Query(expr='label_replace(broken_queue_depth, "q", "$1", "qeue", "(.*)")'),),
    )
    assert_names(problems_of(options_for, broken(panels=(panel,))), "unknown label 'qeue'")


def test_unknown_metric_in_recording_rule(options_for: Any) -> None:
    rule = RecordingRule(record="broken:jobs:rate5m", expr="sum(rate(broken_jbos_total[5m]))")
    assert_names(
        problems_of(options_for, broken(recording_rules=(rule,))),
        "recording rule 'broken:jobs:rate5m'",
        "unknown metric 'broken_jbos_total'",
    )


@pytest.mark.usefixtures("tools")
def test_recording_rule_outputs_are_metrics_with_their_labels(options_for: Any) -> None:
    rule = RecordingRule(
        record="broken:jobs:rate5m", expr="sum by (queue) (rate(broken_jobs_total[5m]))"
    )
    ok = Panel(
        title="Rate",
        kind="timeseries",
        queries=(Query(expr='sum by (queue) (broken:jobs:rate5m{queue="q"})'),),
    )
    loaded = load(broken(recording_rules=(rule,), panels=(ok,)))
    render(loaded, options_for(loaded))
    bad = Panel(title="Rate", kind="timeseries", queries=(Query(expr="broken:jobs:rate1m"),))
    assert_names(
        problems_of(options_for, broken(recording_rules=(rule,), panels=(bad,))),
        "unknown metric 'broken:jobs:rate1m'",
        "did you mean broken:jobs:rate5m?",
    )


def test_duplicate_alert_across_plugins(options_for: Any) -> None:
    message = problems_of(options_for, broken(alerts=(alert(name="ApplicationDown"),)))
    assert_names(message, "alert 'ApplicationDown'", "duplicate alert name", "plugin 'core'")


def test_duplicate_recording_rule(options_for: Any) -> None:
    rule = RecordingRule(record="boss:http_requests:rate5m", expr="sum(broken_queue_depth)")
    assert_names(
        problems_of(options_for, broken(recording_rules=(rule,))),
        "recording rule 'boss:http_requests:rate5m'",
        "duplicate recording rule",
    )


def test_duplicate_panel_title(options_for: Any) -> None:
    panel = Panel(title="Depth", kind="stat", queries=(Query(expr="sum(broken_queue_depth)"),))
    assert_names(
        problems_of(options_for, broken(panels=(panel, panel))),
        "panel 'Depth'",
        "duplicate panel title",
    )


def test_unknown_severity(options_for: Any) -> None:
    assert_names(
        problems_of(options_for, broken(alerts=(alert(severity="page"),))),
        "alert 'BrokenJobsFailing'",
        "unknown severity 'page'",
    )


def test_inhibits_must_name_another_alert(options_for: Any) -> None:
    assert_names(
        problems_of(options_for, broken(alerts=(alert(inhibits=("NoSuchAlert",)),))),
        "alert 'BrokenJobsFailing'",
        "inhibits 'NoSuchAlert', which is not another alert of the build",
    )


def test_the_build_reserves_the_self_monitoring_group(options_for: Any) -> None:
    message = problems_of(options_for, broken(name="self_monitoring"))
    assert "plugin 'self_monitoring' (entry point <explicit>)" in message
    assert "the name 'self_monitoring' is the build's own meta-alert group" in message


def test_missing_summary(options_for: Any) -> None:
    assert_names(
        problems_of(options_for, broken(alerts=(alert(summary=" "),))),
        "alert 'BrokenJobsFailing'",
        "missing summary",
    )


def test_missing_runbook(options_for: Any, tmp_path: Any) -> None:
    from boss.monitoring import BuildOptions

    with pytest.raises(BuildError) as info:
        render(load(broken()), BuildOptions(runbooks_dir=tmp_path / "empty"))
    assert_names(str(info.value), "alert 'BrokenJobsFailing'", "missing runbook page")


def test_invalid_for_duration(options_for: Any) -> None:
    assert_names(
        problems_of(options_for, broken(alerts=(alert(for_="5 minutes"),))),
        "alert 'BrokenJobsFailing'",
        "'5 minutes' is not a duration",
    )


def test_invalid_rule_test_interval(options_for: Any) -> None:
    test = rule_tests_for("BrokenJobsFailing")[0]
    bad = RuleTest(
        name=test.name,
        input_series=test.input_series,
        alert_rule_test=test.alert_rule_test,
        interval="1 minute",
    )
    assert_names(
        problems_of(options_for, broken(rule_tests=(bad,))),
        "rule test 'BrokenJobsFailing fires and stays quiet'",
        "invalid interval '1 minute'",
    )


@pytest.mark.usefixtures("tools")
def test_invalid_promql_is_caught_by_promtool(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="sum(rate(broken_jobs_total[5m])) >"),))
    assert_names(
        problems_of(options_for, plugin),
        "alert 'BrokenJobsFailing'",
        "invalid PromQL",
        "parse error",
    )


@pytest.mark.usefixtures("tools")
def test_invalid_promql_in_a_panel_is_caught_by_promtool(options_for: Any) -> None:
    panel = Panel(
        title="Depth", kind="stat", queries=(Query(expr="sum(rate(broken_queue_depth[5x]))"),)
    )
    assert_names(
        problems_of(options_for, broken(panels=(panel,))), "panel 'Depth'", "invalid PromQL"
    )


def test_unbalanced_query_is_caught_before_promtool(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="sum(rate(broken_jobs_total[5m]) > 1"),))
    assert_names(problems_of(options_for, plugin), "alert 'BrokenJobsFailing'", "unclosed '('")


def test_alert_without_a_quiet_case(options_for: Any) -> None:
    only_firing = RuleTest(
        name="fires",
        input_series=rule_tests_for("BrokenJobsFailing")[0].input_series,
        alert_rule_test=rule_tests_for("BrokenJobsFailing")[0].alert_rule_test[1:],
    )
    assert_names(
        problems_of(options_for, broken(rule_tests=(only_firing,))),
        "alert 'BrokenJobsFailing'",
        "needs a rule test case where it does not fire",
    )


def test_alert_without_any_test(options_for: Any) -> None:
    assert_names(
        problems_of(options_for, broken(rule_tests=())),
        "needs a rule test case where it fires and one where it does not fire",
    )


def test_rule_test_of_an_unknown_alert_and_metric(options_for: Any) -> None:
    stray = RuleTest(
        name="stray",
        input_series=(Series(series='broken_nope_total{queue="q"}', values="1x5"),),
        alert_rule_test=(AlertTest(eval_time="1m", alertname="NoSuchAlert"),),
    )
    message = problems_of(
        options_for, broken(rule_tests=(*rule_tests_for("BrokenJobsFailing"), stray))
    )
    assert_names(message, "rule test 'stray'", "unknown alert 'NoSuchAlert'", "'broken_nope_total'")


@pytest.mark.usefixtures("tools")
def test_failing_rule_test_fails_the_build(options_for: Any) -> None:
    test = rule_tests_for("BrokenJobsFailing")[0]
    wrong = RuleTest(
        name=test.name,
        input_series=test.input_series,
        alert_rule_test=(
            test.alert_rule_test[0],
            AlertTest(
                eval_time="15m",
                alertname="BrokenJobsFailing",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning", "queue": "other"}),),
            ),
        ),
    )
    assert_names(
        problems_of(options_for, broken(rule_tests=(wrong,))),
        "rule tests",
        "promtool test rules failed",
        'queue="other"',
    )


def test_all_problems_are_reported_together(options_for: Any) -> None:
    plugin = broken(alerts=(alert(expr="rate(nope_total[5m]) > 1", summary=""),))
    message = problems_of(options_for, plugin)
    assert "unknown metric 'nope_total'" in message
    assert "missing summary" in message


@pytest.mark.usefixtures("tools")
def test_a_runbook_url_needs_no_local_page(tmp_path: Any) -> None:
    from boss.monitoring import BuildOptions
    from boss.monitoring.slo import with_slos

    url = "https://plugins.example.com/broken/runbooks/jobs-failing"
    loaded = load(broken(alerts=(alert(runbook=url),)))
    stubs = tmp_path / "runbooks"
    stubs.mkdir()
    for item in with_slos(loaded, BuildOptions()):  # core's and its SLOs' alerts
        for other in item.plugin.alerts:
            if item.name != "broken":
                (stubs / other.runbook_page).write_text("#\n")
    files = render(loaded, BuildOptions(runbooks_dir=stubs))
    assert f"runbook_url: {url}" in files["monitoring/prometheus/rules/broken.yml"]


@pytest.mark.usefixtures("tools")
def test_each_test_interval_is_also_its_evaluation_interval(options_for: Any) -> None:
    """Samples 10m apart would go stale between 1m evaluations (5m lookback); they must not."""
    deep = alert(
        name="BrokenQueueDeep", expr="max(broken_queue_depth) > 100", for_="1h", severity="info"
    )
    sparse = RuleTest(
        name="sparse samples",
        interval="10m",
        input_series=(Series(series='broken_queue_depth{queue="q"}', values="5x3 500x20"),),
        alert_rule_test=(
            AlertTest(eval_time="20m", alertname="BrokenQueueDeep"),
            AlertTest(
                eval_time="2h",
                alertname="BrokenQueueDeep",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "info"}),),
            ),
        ),
    )
    plugin = broken(
        alerts=(alert(), deep), rule_tests=(*rule_tests_for("BrokenJobsFailing"), sparse)
    )
    files = build(options_for, plugin)
    assert "evaluation_interval: 1m" in files["monitoring/prometheus/tests/broken.yml"]
    other = files["monitoring/prometheus/tests/broken.every-10m.yml"]
    assert "evaluation_interval: 10m" in other
    assert "sparse samples" in other


@pytest.mark.usefixtures("tools")
def test_broken_annotation_template_is_caught_by_promtool(options_for: Any) -> None:
    plugin = broken(alerts=(alert(summary="Queue {{ $labels.queue is failing"),))
    assert_names(
        problems_of(options_for, plugin),
        "alert 'BrokenJobsFailing'",
        'annotation "summary"',
        "template:",
    )


# Label flow: each operation's output labels, each fix proven with a broken plugin ----------

QUANTILE = RecordingRule(
    record="broken:job_seconds:p90",
    expr="histogram_quantile(0.9, sum by (le, queue) (rate(broken_job_seconds_bucket[5m])))",
)


def _panel(*exprs: str) -> Panel:
    return Panel(title="Flow", kind="timeseries", queries=tuple(Query(expr=e) for e in exprs))


def test_a_quantile_has_no_le(options_for: Any) -> None:
    plugin = broken(recording_rules=(QUANTILE,), panels=(_panel('broken:job_seconds:p90{le="1"}'),))
    assert_names(
        problems_of(options_for, plugin),
        "panel 'Flow'",
        "metric 'broken:job_seconds:p90' has no label 'le'",
    )


def test_histogram_quantile_needs_le_in_its_input(options_for: Any) -> None:
    plugin = broken(
        panels=(
            _panel("histogram_quantile(0.9, sum by (queue) (rate(broken_job_seconds_bucket[5m])))"),
        )
    )
    assert_names(
        problems_of(options_for, plugin), "panel 'Flow'", "histogram_quantile needs the 'le' label"
    )


@pytest.mark.parametrize(
    ("expr", "label"),
    [
        ("sum by (queue) (sum by (result) (rate(broken_jobs_total[5m])))", "queue"),
        ("sum by (queue) (sum without (queue) (rate(broken_jobs_total[5m])))", "queue"),
        ('sum by (queue) (count_values("n", broken_queue_depth))', "queue"),
        ("sum by (queue) (sum(broken_queue_depth) or vector(0))", "queue"),
        ("sum by (queue) (absent(broken_queue_depth))", "queue"),
        ("max by (le) (broken:job_seconds:p90)", "unknown label 'le'"),
    ],
)
def test_grouping_on_a_label_the_input_lost(options_for: Any, expr: str, label: str) -> None:
    plugin = broken(recording_rules=(QUANTILE,), panels=(_panel(expr),))
    says = label if " " in label else f"groups by {label!r}"
    assert_names(problems_of(options_for, plugin), "panel 'Flow'", says)


@pytest.mark.usefixtures("tools")
def test_labels_created_or_kept_by_functions_may_be_used(options_for: Any) -> None:
    loaded = load(
        broken(
            recording_rules=(QUANTILE,),
            panels=(
                _panel(
                    'sum by (q) (label_replace(broken_queue_depth, "q", "$1", "queue", "(.*)"))',
                    'sum by (n) (count_values("n", broken_queue_depth))',
                    "sum by (queue) (topk(3, broken_queue_depth))",
                    'sum by (queue) (absent(broken_queue_depth{queue="a"}))',
                    "max by (queue) (broken:job_seconds:p90)",
                    "sum by (result) (rate(broken_jobs_total[5m]) / on (queue, result) group_left rate(broken_jobs_total[5m]))",
                ),
            ),
        )
    )
    files = render(loaded, options_for(loaded))
    assert "Flow" in files["monitoring/grafana/dashboards/boss.json"]


def test_recording_rule_labels_follow_the_expression() -> None:
    from boss.monitoring.catalogue import Catalogue

    rules = (
        QUANTILE,
        RecordingRule(record="broken:a", expr="sum without (result) (broken_jobs_total)"),
        RecordingRule(record="broken:b", expr="topk(1, broken_queue_depth)"),
        RecordingRule(record="broken:c", expr="vector(1)", labels={"kind": "x"}),
        RecordingRule(record="broken:d", expr='label_join(broken:b, "both", ",", "queue")'),
    )
    catalogue = Catalogue(load(broken(recording_rules=rules)))
    assert catalogue.labels_of("broken:job_seconds:p90") == {"queue"}
    assert catalogue.labels_of("broken:a") == {"queue"}
    assert catalogue.labels_of("broken:b") == {"queue"}
    assert catalogue.labels_of("broken:c") == {"kind"}
    assert catalogue.labels_of("broken:d") == {"queue", "both"}


def test_histogram_rule_test_input_must_be_cumulative(options_for: Any) -> None:
    bad = RuleTest(
        name="bad buckets",
        input_series=(
            Series(series='broken_job_seconds_bucket{queue="q", le="0.1"}', values="0+10x5"),
            Series(series='broken_job_seconds_bucket{queue="q", le="1"}', values="0+5x5"),
            Series(series='broken_job_seconds_bucket{queue="q", le="+Inf"}', values="0+10x5"),
        ),
        alert_rule_test=(AlertTest(eval_time="1m", alertname="BrokenJobsFailing"),),
    )
    plugin = broken(rule_tests=(*rule_tests_for("BrokenJobsFailing"), bad))
    assert_names(
        problems_of(options_for, plugin),
        "rule test 'bad buckets'",
        'broken_job_seconds_bucket{queue="q"} is not cumulative: le="1" has 5 < le="0.1" 10 at step 1',
    )


def test_one_problem_is_reported_once(options_for: Any) -> None:
    message = problems_of(
        options_for,
        broken(
            alerts=(
                alert(
                    name="ApplicationDown", expr="rate(nope_total[5m]) / rate(nope_total[5m]) > 1"
                ),
            ),
            rule_tests=rule_tests_for("ApplicationDown"),
        ),
    )
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(lines) == len(set(lines)) == 2, message
    assert "duplicate alert name" in message
    assert "unknown metric 'nope_total'" in message
    assert "tests unknown alert" not in message
