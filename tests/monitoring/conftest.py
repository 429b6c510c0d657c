"""Fixtures for the monitoring build tests: real promtool/amtool, runbook folders, plugins."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from boss.loader import LoadedPlugin
from boss.monitoring import BuildOptions, ToolMissingError, find_tool, load_fragments
from boss.monitoring.slo import with_slos
from boss.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def annotation_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Builds here (and the CLI they start) cache annotations in a temporary folder, not ~."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """promtool and amtool at the pinned versions; fail (never skip) when they are absent."""
    try:
        return {name: find_tool(name) for name in ("promtool", "amtool")}
    except ToolMissingError as exc:
        pytest.fail(f"{exc} — `make pytest` fetches them first")


@pytest.fixture(scope="session")
def example_plugin() -> type[Any]:
    """The third-party example plugin class (tests/example_plugin), installed or not."""
    path = str(REPO / "tests" / "example_plugin")
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module("boss_example").ExamplePlugin  # type: ignore[no-any-return]


def load(*plugins: Any) -> list[LoadedPlugin]:
    """The explicit plugins (core added) as the build sees them."""
    return load_fragments(load_settings({}), list(plugins))


@pytest.fixture
def options_for(tmp_path: Path) -> Callable[[Sequence[LoadedPlugin]], BuildOptions]:
    """Build options whose runbook folder has a page for every alert of ``loaded``."""

    def make(loaded: Sequence[LoadedPlugin], **kw: Any) -> BuildOptions:
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir(exist_ok=True)
        for item in with_slos(loaded, BuildOptions()):  # SLO alerts need runbooks too
            for alert in item.plugin.alerts:
                (runbooks / alert.runbook_page).write_text(f"# {alert.name}\n")
        return BuildOptions(runbooks_dir=runbooks, **kw)

    return make
