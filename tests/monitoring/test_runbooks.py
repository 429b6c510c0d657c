"""Runbooks travel with the code: found in the plugin's package (or an ops override), copied
into OUT/docs/runbooks, installed as package data, and bad ``runbook=`` values are errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from boss import AlertRule
from boss.monitoring import BuildError, BuildOptions, drift, render, write
from boss.monitoring.runbooks import GENERATED_MARK

from .conftest import REPO, load
from .test_validation import alert, broken

pytestmark = pytest.mark.usefixtures("tools")
BOSS = Path(sys.executable).with_name("boss")


def test_build_into_an_empty_folder_without_docs_anywhere(tmp_path: Path, example_plugin: Any):
    """No docs/ in the working directory nor in OUT: every page comes from a package."""
    files = render(load(example_plugin), BuildOptions(runbooks_dir=tmp_path / "none"))
    out = tmp_path / "out"
    write(files, out)
    rules = yaml.safe_load((out / "monitoring/prometheus/rules/example.yml").read_text())
    (rule,) = [r for r in rules["groups"][0]["rules"] if r.get("alert") == "ExampleNoGreetings"]
    url = rule["annotations"]["runbook_url"]
    assert url == "docs/runbooks/ExampleNoGreetings.md"
    page = (out / url).read_text()
    assert page.startswith(GENERATED_MARK)
    assert "from boss_example/runbooks/ExampleNoGreetings.md" in page.splitlines()[0]
    core = (out / "docs/runbooks/HighErrorRate.md").read_text()
    assert "from boss/runbooks/HighErrorRate.md (plugin 'core')" in core.splitlines()[0]
    assert (REPO / "boss/runbooks/HighErrorRate.md").read_text() in core
    # every runbook_url of every rule file resolves to a page the build wrote
    for rel, text in files.items():
        if rel.startswith("monitoring/prometheus/rules/"):
            for rule in yaml.safe_load(text)["groups"][0]["rules"]:
                if "alert" in rule:
                    assert (out / rule["annotations"]["runbook_url"]).is_file(), rule["alert"]


def test_cli_build_in_an_empty_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    done = subprocess.run(
        [str(BOSS), "monitoring", "build", "--out", "deploy"],
        cwd=tmp_path,
        env={**env, "PATH": f"{REPO / '.tools/bin'}:{env.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "deploy/docs/runbooks/ApplicationDown.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy"]


def test_an_override_wins_and_generated_copies_do_not(tmp_path: Path) -> None:
    loaded = load()
    out = tmp_path / "out"
    overrides = out / "docs/runbooks"
    write(render(loaded, BuildOptions(runbooks_dir=overrides)), out)
    # a generated copy is not an override: the package's page still decides
    assert (overrides / "HighErrorRate.md").read_text().startswith(GENERATED_MARK)
    ours = "# HighErrorRate\n\nCall the on-call lead first.\n"
    (overrides / "HighErrorRate.md").write_text(ours)
    files = render(loaded, BuildOptions(runbooks_dir=overrides))
    assert files["docs/runbooks/HighErrorRate.md"] == ours
    assert drift(files, out) == []
    # a stale generated copy is removed, a local page the build does not use is kept
    stale = (overrides / "SlowAPIResponses.md").read_text()
    (overrides / "GoneAlert.md").write_text(stale)
    (overrides / "TeamNotes.md").write_text("# notes\n")
    assert drift(files, out) == ["docs/runbooks/GoneAlert.md"]
    write(files, out)
    assert not (overrides / "GoneAlert.md").exists()
    assert (overrides / "TeamNotes.md").exists()


def test_a_hand_edited_copy_fails_the_build(tmp_path: Path) -> None:
    loaded = load()
    write(render(loaded), tmp_path)
    page = tmp_path / "docs/runbooks/SlowAPIResponses.md"
    page.write_text(page.read_text() + "\nA merged edit.\n")
    with pytest.raises(BuildError) as info:
        render(loaded, BuildOptions(runbooks_dir=tmp_path / "docs/runbooks"))
    message = str(info.value)
    assert "SlowAPIResponses.md is a generated copy that was edited by hand" in message
    assert "boss/runbooks/SlowAPIResponses.md" in message


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("runbooks/X.md", "'runbooks/X.md' is a relative path: give a page name such as 'X'"),
        ("../docs/X", "is a relative path"),
        ("BrokenJobsFailing.md", "without '.md' ('BrokenJobsFailing')"),
        ("jobs failing", "is not a page name"),
        ("https://", "is not a valid URL"),
    ],
)
def test_a_malformed_runbook_value_is_an_error(value: str, says: str) -> None:
    with pytest.raises(BuildError) as info:  # at load time: start-up refuses it too
        load(broken(alerts=(alert(runbook=value),)))
    message = str(info.value)
    assert "alert 'BrokenJobsFailing'" in message
    assert says in message


def test_missing_page_names_every_place_looked(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        render(load(broken()), BuildOptions(runbooks_dir=tmp_path / "ops"))
    message = str(info.value)
    assert f"looked in {tmp_path / 'ops' / 'BrokenJobsFailing.md'}" in message
    assert "/runbooks/BrokenJobsFailing.md (package data)" in message


def test_a_named_page_is_used_for_its_alert(tmp_path: Path) -> None:
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "jobs-failing.md").write_text("# jobs\n")
    loaded = load(broken(alerts=(alert(runbook="jobs-failing"),)))
    files = render(loaded, BuildOptions(runbooks_dir=ops))
    assert files["docs/runbooks/jobs-failing.md"] == "# jobs\n"
    assert (
        "runbook_url: docs/runbooks/jobs-failing.md"
        in files["monitoring/prometheus/rules/broken.yml"]
    )
    assert isinstance(loaded[-1].plugin.alerts[0], AlertRule)


def _wheel(source: Path, tmp: Path) -> zipfile.ZipFile:
    """Build a wheel (not editable) from a copy of ``source``; the checkout stays clean."""
    copy = tmp / source.name
    shutil.copytree(
        source,
        copy,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*", "docs", "tests"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(copy),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("*.whl")
    return zipfile.ZipFile(wheel)


@pytest.mark.parametrize(
    ("source", "package"),
    [
        (".", "boss"),
        ("plugins/ai", "boss_ai"),
        ("plugins/cache", "boss_cache"),
        ("plugins/discord", "boss_discord"),
        ("plugins/tasks", "boss_tasks"),
        ("tests/example_plugin", "boss_example"),
    ],
)
def test_runbooks_are_package_data_of_a_real_install(source: str, package: str, tmp_path: Path):
    folder = REPO / source
    shipped = {p.name for p in (folder / package / "runbooks").glob("*.md")}
    assert shipped
    with _wheel(folder, tmp_path) as wheel:
        names = set(wheel.namelist())
    assert {f"{package}/runbooks/{name}" for name in shipped} <= names
