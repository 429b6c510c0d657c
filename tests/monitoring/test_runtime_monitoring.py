"""The runtime row, the deploy annotation and the runtime alerts as the build renders them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from boss.core_plugin import CorePlugin
from boss.monitoring import BuildOptions, render
from boss.monitoring.catalogue import Catalogue
from boss.monitoring.render_grafana import DEPLOY_EXPR, dashboard
from boss.monitoring.scoping import panel_scope, scope_expr
from boss.monitoring.validate import check_query
from boss.runtime.fragments import RUNTIME_PANELS, RUNTIME_ROW

from .conftest import REPO, load

RUNTIME_ALERTS = ("EventLoopLagHigh", "FileDescriptorsNearLimit")


def test_dashboard_has_the_runtime_row_after_the_core_row() -> None:
    loaded = load()
    board = dashboard(loaded)
    panels = board["panels"]
    rows = [i for i, p in enumerate(panels) if p["type"] == "row"]
    titles = [panels[i]["title"] for i in rows]
    assert titles[0] == CorePlugin().display_title
    at = titles.index(RUNTIME_ROW)  # after the core's own areas (HTTP, database, rate limiting)
    start, end = rows[at], (rows[at + 1] if len(rows) > at + 1 else len(panels))
    below = [p["title"] for p in panels[start + 1 : end]]
    assert below == [p.title for p in RUNTIME_PANELS]
    assert {
        "Resident memory",
        "CPU usage",
        "File descriptors used",
        "GC collections",
        "Event-loop lag p99",
        "In-flight requests",
    } <= set(below)
    runtime_row_y = panels[start]["gridPos"]["y"]
    assert all(p["gridPos"]["y"] > runtime_row_y for p in panels[start + 1 : end])
    assert all(p["gridPos"]["y"] < runtime_row_y for p in panels[1:start])
    catalogue = Catalogue(loaded)
    for panel in panels[start + 1 : end]:
        for target in panel["targets"]:
            assert check_query(target["expr"], catalogue) == [], panel["title"]
            assert "instance" in target["expr"], panel["title"]  # per instance


def test_deploy_annotation_queries_build_info() -> None:
    loaded = load()
    annotations = dashboard(loaded)["annotations"]["list"]
    deploys = [a for a in annotations if a.get("name") == "Deploys"]
    assert len(deploys) == 1
    assert deploys[0]["expr"] == scope_expr(DEPLOY_EXPR, panel_scope(BuildOptions()))
    assert deploys[0]["enable"] is True
    assert "{{version}}" in deploys[0]["textFormat"]
    assert check_query(DEPLOY_EXPR, Catalogue(loaded)) == []


def test_deploy_annotation_marks_a_version_change_and_nothing_else(
    tools: dict[str, str], tmp_path: Path
) -> None:
    """promtool evaluates the annotation query over a rolling deploy from 0.1.0 to 0.2.0."""
    labels = 'job="boss", python="3.11.7", litestar="2.25.0"'
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # instance a runs 0.1.0 until minute 10, then 0.2.0; b stays on 0.1.0.
                    {
                        "series": f'boss_build_info{{{labels}, instance="a", version="0.1.0"}}',
                        "values": "1x10 _x10",
                    },
                    {
                        "series": f'boss_build_info{{{labels}, instance="a", version="0.2.0"}}',
                        "values": "_x10 1x10",
                    },
                    {
                        "series": f'boss_build_info{{{labels}, instance="b", version="0.1.0"}}',
                        "values": "1x20",
                    },
                ],
                "promql_expr_test": [
                    {"expr": DEPLOY_EXPR, "eval_time": "5m", "exp_samples": []},
                    {
                        "expr": DEPLOY_EXPR,
                        "eval_time": "11m",
                        "exp_samples": [
                            {"labels": '{job="boss", instance="a", version="0.2.0"}', "value": 1}
                        ],
                    },
                    {"expr": DEPLOY_EXPR, "eval_time": "15m", "exp_samples": []},
                ],
            }
        ],
    }
    path = tmp_path / "deploys.yml"
    path.write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [tools["promtool"], "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _core_test_files(files: dict[str, str]) -> list[str]:
    return sorted(
        rel
        for rel in files
        if rel.startswith("monitoring/prometheus/tests/core.") and rel.endswith(".yml")
    )


def _alert_tests(files: dict[str, str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {name: [] for name in RUNTIME_ALERTS}
    for rel in _core_test_files(files):  # one file per input interval (core.every-1m.yml, ...)
        for test in yaml.safe_load(files[rel])["tests"]:
            for case in test["alert_rule_test"]:
                if case["alertname"] in found:
                    found[case["alertname"]].append((test["input_series"], case))
    return found


def test_runtime_alerts_have_firing_and_quiet_tests_that_pass(
    tools: dict[str, str], tmp_path: Path
) -> None:
    loaded = load()
    runbooks = REPO / "docs" / "runbooks"
    files = render(loaded, BuildOptions(runbooks_dir=runbooks, cache_dir=None))
    rules = yaml.safe_load(files["monitoring/prometheus/rules/core.yml"])
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for name in RUNTIME_ALERTS:
        assert (runbooks / f"{name}.md").is_file()
        grouped = re.search(r"by \(([^)]*)\)", exprs[name])
        assert grouped is not None, exprs[name]
        kept = {label.strip() for label in grouped.group(1).split(",")}
        assert {"job", "cluster", "environment", "instance"} <= kept, exprs[name]
        cases = _alert_tests(files)[name]
        assert any(case.get("exp_alerts") for _, case in cases), f"{name} never fires"
        assert any(not case.get("exp_alerts") for _, case in cases), f"{name} never stays quiet"
        for series, _ in cases:
            for item in series:
                for label in ("job", "instance", "cluster", "environment"):
                    assert f"{label}=" in item["series"], item["series"]
    tests = _core_test_files(files)
    for rel in ("monitoring/prometheus/rules/core.yml", *tests):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[rel])
    result = subprocess.run(
        [tools["promtool"], "test", "rules", *(Path(rel).name for rel in tests)],
        cwd=tmp_path / "monitoring/prometheus/tests",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    board = json.loads(files["monitoring/grafana/dashboards/boss.json"])
    assert any(a.get("name") == "Deploys" for a in board["annotations"]["list"])
