"""The plugin author's kit: ``boss plugins new`` yields a distribution that installs and
passes its own tests unchanged; ``boss.testing`` reports build problems readably;
``boss plugins list`` counts every fragment type and speaks JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from boss import AlertRule
from boss.cli._main import cli
from boss.core_plugin import CorePlugin
from boss.testing import BuildCheckFailed, assert_builds
from tests.core.helpers import pip_install_into
from tests.monitoring.test_validation import alert, broken

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"


def test_plugins_new_yields_a_plugin_that_installs_and_passes_its_tests(tmp_path: Path) -> None:
    dest = tmp_path / "src" / "boss-greeter"
    done = CliRunner().invoke(cli, ["plugins", "new", "greeter", "--dir", str(dest)])
    assert done.exit_code == 0, done.output
    assert (dest / "boss_greeter/runbooks/GreeterEventsFailing.md").is_file()
    site = tmp_path / "site"
    pip_install_into(dest, site)
    assert (site / "boss_greeter/runbooks/GreeterEventsFailing.md").is_file()
    assert list(site.glob("boss_greeter-0.1.0.dist-info/entry_points.txt"))
    # Run the plugin's own tests against the installed copy, from a neutral folder.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    env.update({"PYTHONPATH": str(site), "PATH": f"{TOOLS}:{env.get('PATH', '')}"})
    where = subprocess.run(
        [sys.executable, "-c", "import boss_greeter; print(boss_greeter.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site))
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", str(dest), "-q", "-p", "no:cacheprovider"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    # the installed plugin is found through its entry point
    listing = subprocess.run(
        [str(Path(sys.executable).with_name("boss")), "plugins", "list", "--json"],
        cwd=elsewhere,
        env={**env, "BOSS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=True,
    )
    (row,) = [r for r in json.loads(listing.stdout) if r["name"] == "greeter"]
    assert row["distribution"] == "boss-greeter"
    assert (row["metrics"], row["alerts"], row["rule_tests"], row["panels"]) == (1, 1, 1, 1)
    # built through its entry point into an empty folder: each runbook from its own package
    build = subprocess.run(
        [str(Path(sys.executable).with_name("boss")), "monitoring", "build", "--out", "deploy"],
        cwd=elsewhere,
        env={**env, "BOSS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    pages = elsewhere / "deploy" / "docs" / "runbooks"
    first = (pages / "GreeterEventsFailing.md").read_text().splitlines()[0]
    assert "from boss_greeter/runbooks/GreeterEventsFailing.md (plugin 'greeter')" in first
    assert "from boss/runbooks/HighErrorRate.md" in (pages / "HighErrorRate.md").read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plugins", "new", "Bad-Name"], "plugin name 'Bad-Name' must match [a-z][a-z0-9_]*"),
        (["plugins", "new", "ok", "--dir", "{taken}"], "already exists and is not an empty"),
    ],
)
def test_plugins_new_rejects_bad_input(tmp_path: Path, args: list[str], says: str) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    done = CliRunner().invoke(cli, [a.format(taken=taken) for a in args])
    assert done.exit_code == 1
    assert says in done.output
    assert "Traceback" not in done.output


def test_assert_builds_lists_the_build_problems() -> None:
    plugin = broken(alerts=(alert(expr="rate(broken_jobz_total[5m]) > 1", summary=""),))
    with pytest.raises(BuildCheckFailed) as info:
        assert_builds(plugin)
    message = str(info.value)
    assert message.startswith("boss monitoring build of broken: monitoring build failed")
    assert "plugin 'broken' (entry point <explicit>), alert 'BrokenJobsFailing'" in message
    assert "unknown metric 'broken_jobz_total'" in message
    assert "missing summary" in message


def test_assert_builds_passes_and_returns_the_files(tmp_path: Path) -> None:
    sys.path.append(str(REPO / "tests" / "example_plugin"))
    try:
        from boss_example import ExamplePlugin
    finally:
        sys.path.remove(str(REPO / "tests" / "example_plugin"))
    result = assert_builds(ExamplePlugin, out=tmp_path)
    assert result.ok
    assert [check.name for check in result.checks] == [
        "promtool check config",
        "promtool check rules",
        "promtool test rules",
        "amtool check-config",
    ]
    assert "ExampleNoGreetings" in result.rules("example")
    assert (tmp_path / "docs/runbooks/ExampleNoGreetings.md").is_file()
    assert result.plugins == ("core", "example")


def test_plugins_list_json_counts_recording_rules(tmp_path: Path) -> None:
    env = {"BOSS_DATA_DIR": str(tmp_path)}
    done = CliRunner(env=env).invoke(cli, ["plugins", "list", "--json"])
    assert done.exit_code == 0, done.output
    rows = {row["name"]: row for row in json.loads(done.output)}
    core = rows["core"]
    assert core["recording_rules"] == len(CorePlugin.recording_rules) > 0
    assert core["alerts"] == len(CorePlugin.alerts)
    assert core["slos"] == len(getattr(CorePlugin, "slos", ()))
    assert core["status"] == "enabled"
    table = CliRunner(env=env).invoke(cli, ["plugins", "list"])
    assert " rules " in table.output
    assert isinstance(CorePlugin.alerts[0], AlertRule)
