"""Run fragments' rule tests through the real ``promtool test rules`` (fails if it is missing)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest
import yaml

from boss import AlertRule, RuleTest
from boss.monitoring import BuildOptions
from boss.monitoring.scoping import rule_scope, scope_expr, stamp_rule_tests

__all__ = ("promtool", "run_rule_tests")

_REPO = Path(__file__).resolve().parents[2]


def promtool() -> str:
    """The promtool binary: on PATH, or fetched by ``make tools`` into ``.tools/bin``."""
    found = shutil.which("promtool") or str(_REPO / ".tools" / "bin" / "promtool")
    if not Path(found).exists():
        pytest.fail("promtool is required: run 'make tools' (scripts/fetch-tools.sh)")
    return found


def run_rule_tests(
    name: str, alerts: Sequence[AlertRule], tests: Sequence[RuleTest], directory: Path
) -> str:
    """Write the alerts (labels only, no annotations) and their tests; run promtool on them.

    Both go through the build's scoping first (default options), as in the generated files.
    """
    opts = BuildOptions()
    scope = rule_scope(opts)
    tests = stamp_rule_tests(tests, alerts, opts)
    rules = [
        {
            "alert": alert.name,
            "expr": scope_expr(alert.expr, scope),
            "for": alert.for_,
            "labels": {"severity": alert.severity, **alert.labels},
        }
        for alert in alerts
    ]
    (directory / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": name, "rules": rules}]})
    )
    raw_tests = [msgspec.to_builtins(test) for test in tests]
    for test in raw_tests:
        test.pop("name", None)
        test.pop("evaluation_interval", None)  # the build groups files by it; not per test
        for case in test["alert_rule_test"]:
            for expected in case["exp_alerts"]:
                expected.pop("deployment", None)  # the build's own field, not promtool's
    (directory / "tests.yml").write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": raw_tests}
        )
    )
    result = subprocess.run(
        [promtool(), "test", "rules", "tests.yml"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
