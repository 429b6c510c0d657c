"""Each plugin's promtool test file loads only the rule files its tests need; annotations cache.

Loading every plugin's rules into every plugin's tests made the build quadratic in the
plugin count; these tests pin the scope down structurally (which files are listed), and
that a rebuild with a warm annotation cache runs each test file once, with identical output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import boss.monitoring.build as build
from boss import (
    AlertRule,
    AlertTest,
    BossPlugin,
    ExpectedAlert,
    MetricSpec,
    RecordingRule,
    RuleTest,
    Series,
)
from boss.loader import LoadedPlugin
from boss.monitoring import BuildOptions, render
from boss.monitoring.render_prometheus import rule_files_for_tests

from .conftest import load

pytestmark = pytest.mark.usefixtures("tools")


def _plugin(name: str, alert_expr: str, requires: tuple[str, ...] = ()) -> BossPlugin:
    """A plugin with one counter, a recording rule over it and one tested alert."""
    events = f"{name}_events_total"
    alert = f"{name.capitalize()}Failing"
    attributes: dict[str, Any] = {
        "name": name,
        "requires": requires,
        "metrics": (
            MetricSpec(
                name=events,
                kind="counter",
                help=f"Events handled by {name}, by outcome.",
                labels=("outcome",),
                label_values={"outcome": ("ok", "error")},
            ),
        ),
        "recording_rules": (
            RecordingRule(
                record=f"{name}:errors:rate5m",
                expr=f'sum(rate({events}{{outcome="error"}}[5m]))',
            ),
        ),
        "alerts": (
            AlertRule(
                name=alert,
                expr=alert_expr,
                for_="5m",
                severity="warning",
                summary=f"{name} fails",
                description="{{ $value | humanize }} errors per second.",
            ),
        ),
        "rule_tests": (
            RuleTest(
                name=f"{alert} fires on errors, not without",
                input_series=tuple(
                    Series(series=f'{source}_events_total{{outcome="error"}}', values="0+60x30")
                    for source in sorted({name, "alpha"})
                ),
                alert_rule_test=(
                    AlertTest(
                        eval_time="20m",
                        alertname=alert,
                        exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
                    ),
                    AlertTest(eval_time="2m", alertname=alert),
                ),
            ),
        ),
    }
    cls: type[BossPlugin] = type(f"{name.capitalize()}Plugin", (BossPlugin,), attributes)
    return cls()


def _plugins() -> list[BossPlugin]:
    """alpha; beta requires alpha; gamma reads alpha's recording rule; delta is unrelated."""
    return [
        _plugin("alpha", "alpha:errors:rate5m > 0.5"),
        _plugin("beta", 'sum(rate(beta_events_total{outcome="error"}[5m])) > 0.5', ("alpha",)),
        _plugin("gamma", "alpha:errors:rate5m + gamma:errors:rate5m > 0.5"),
        _plugin("delta", "delta:errors:rate5m > 0.5"),
    ]


@pytest.fixture
def scoped(
    options_for: Callable[..., BuildOptions], tmp_path: Path
) -> tuple[list[LoadedPlugin], BuildOptions]:
    """core + the four plugins, with a fresh annotation cache."""
    loaded = load(*_plugins())
    return loaded, options_for(loaded, cache_dir=tmp_path / "cache")


def _listed(files: dict[str, str], plugin: str) -> list[str]:
    data = yaml.safe_load(files[f"monitoring/prometheus/tests/{plugin}.yml"])
    return [Path(name).name for name in data["rule_files"]]


def test_test_files_list_only_the_rule_files_they_need(
    scoped: tuple[list[LoadedPlugin], BuildOptions],
) -> None:
    loaded, opts = scoped
    files = render(loaded, opts)  # promtool runs every test file: the scope is enough
    assert _listed(files, "alpha") == ["alpha.yml"]
    assert _listed(files, "beta") == ["alpha.yml", "beta.yml"]  # beta requires alpha
    assert _listed(files, "gamma") == ["alpha.yml", "gamma.yml"]  # gamma reads alpha's series
    assert _listed(files, "delta") == ["delta.yml"]
    assert _listed(files, "core") == ["core.yml"]
    prometheus = yaml.safe_load(files["monitoring/prometheus/prometheus.yml"])
    # Prometheus itself still loads every plugin, every core SLO and the self-monitoring group.
    assert len(prometheus["rule_files"]) == 6 + len(load()[0].plugin.slos)
    assert prometheus["rule_files"][-1] == "rules/self_monitoring.yml"


def test_scope_follows_references_transitively_and_into_core() -> None:
    loaded = load(
        _plugin("alpha", "alpha:errors:rate5m > 0.5"),
        _plugin("beta", "alpha:errors:rate5m > 0.5"),
        _plugin("gamma", "beta:errors:rate5m > 0.5", ("beta",)),
        _plugin("delta", "boss:http_errors:ratio_rate5m > 0.5"),
        _plugin("epsilon", 'ALERTS{alertname="DeltaFailing"} == 1'),
        _plugin("zeta", '{__name__=~"alpha:.*"} > 0.5'),
    )
    by_name = {item.name: item for item in loaded}
    every = [f"{item.name}.yml" for item in loaded]

    def scope(name: str) -> list[str]:
        return rule_files_for_tests(by_name[name], loaded)

    assert scope("gamma") == ["alpha.yml", "beta.yml", "gamma.yml"]
    assert scope("delta") == ["core.yml", "delta.yml"]  # core's shared recording rule
    assert scope("epsilon") == every  # ALERTS: any plugin's alert
    assert scope("zeta") == every  # no metric name: could be anything


def _count_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every test file name promtool is asked to run."""
    runs: list[str] = []
    real = build._run_tests

    def counting(promtool: str, tests_dir: Path, names: list[str]) -> dict[str, str | None]:
        runs.extend(names)
        return real(promtool, tests_dir, names)

    monkeypatch.setattr(build, "_run_tests", counting)
    return runs


def test_warm_annotation_cache_runs_each_test_file_once(
    scoped: tuple[list[LoadedPlugin], BuildOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded, opts = scoped
    runs = _count_runs(monkeypatch)
    first = render(loaded, opts)
    tests = sorted(
        p.rsplit("/", 1)[1] for p in first if p.startswith("monitoring/prometheus/tests/")
    )
    assert sorted(set(runs)) == tests
    for plugin in ("alpha", "beta", "gamma", "delta"):  # cold: learn annotations, then verify
        assert runs.count(f"{plugin}.yml") == 2
    runs.clear()
    second = render(loaded, opts)
    assert second == first
    assert sorted(runs) == tests  # warm: every file once


def test_a_failing_file_is_reported_alone(tmp_path: Path, tools: dict[str, str]) -> None:
    """Several files run in one promtool process; each failure maps back to its file."""
    good = "rule_files: []\nevaluation_interval: 1m\ntests: []\n"
    bad = (
        "rule_files: []\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series: []\n"
        "  alert_rule_test:\n  - eval_time: 1m\n    alertname: NeverDefined\n"
        "    exp_alerts: [{exp_labels: {severity: warning}}]\n"
    )
    for name, text in (("a.yml", good), ("b.yml", bad), ("c.yml", good)):
        (tmp_path / name).write_text(text)
    results = build._run_tests(tools["promtool"], tmp_path, ["a.yml", "b.yml", "c.yml"])
    assert results["a.yml"] is None
    assert results["c.yml"] is None
    failed = results["b.yml"]
    assert failed is not None
    assert "b.yml" in failed
    assert "NeverDefined" in failed
    assert "a.yml" not in failed
    assert "c.yml" not in failed


def test_stale_or_broken_cache_still_gives_the_same_files(
    scoped: tuple[list[LoadedPlugin], BuildOptions], tmp_path: Path
) -> None:
    loaded, opts = scoped
    first = render(loaded, opts)
    assert opts.cache_dir is not None
    entries = sorted(opts.cache_dir.glob("*.json"))
    assert entries
    for index, entry in enumerate(entries):
        text = entry.read_text()
        entry.write_text("not json" if index % 2 else text.replace("errors per second", "stale"))
    assert render(loaded, opts) == first
    uncached = BuildOptions(runbooks_dir=opts.runbooks_dir, cache_dir=None)
    assert render(loaded, uncached) == first
