"""Test helpers for plugin authors: build core plus your plugins the way production does.

``assert_builds(MyPlugin)`` validates every fragment, renders the Prometheus, Alertmanager
and Grafana files into a temporary folder, runs the rule unit tests, then promtool and
amtool on the result. It needs only boss installed and the tools (``find_tool``: ``PATH``,
``./.tools/bin`` or ``$BOSS_TOOLS_DIR/bin``), not a boss checkout; a failure is an
``AssertionError`` listing every problem, so pytest shows it as it is.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boss.monitoring import (
    BuildError,
    BuildOptions,
    CheckResult,
    ToolMissingError,
    load_fragments,
    render,
    run_checks,
    write,
)
from boss.settings import load_settings

__all__ = ("BuildCheckFailed", "BuildResult", "assert_builds", "build_and_check")


class BuildCheckFailed(AssertionError):
    """The monitoring build or a tool check failed; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a checked build produced: the files by relative path and each tool check."""

    files: dict[str, str]
    checks: list[CheckResult] = field(default_factory=list)
    plugins: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every tool check passed."""
        return all(check.ok for check in self.checks)

    def rules(self, plugin: str) -> str:
        """The generated rule file of ``plugin``."""
        return self.files[f"monitoring/prometheus/rules/{plugin}.yml"]


def build_and_check(
    *plugins: Any,
    out: Path | None = None,
    options: BuildOptions | None = None,
    settings: dict[str, str] | None = None,
) -> BuildResult:
    """Build core plus ``plugins`` (classes or instances) and run promtool and amtool.

    Writes into ``out`` (kept) or a temporary folder (removed). ``settings`` are
    ``BOSS_*`` variables for the plugins' settings (the process environment is ignored).
    Raises ``BuildError``/``ToolMissingError`` from the build; see ``assert_builds``.
    """
    opts = options or BuildOptions(cache_dir=None)
    loaded = load_fragments(load_settings(settings or {}), list(plugins))
    files = render(loaded, opts)
    names = tuple(item.name for item in loaded)
    if out is not None:
        write(files, out)
        return BuildResult(files, run_checks(out), names)
    with tempfile.TemporaryDirectory(prefix="boss-testing-") as tmp:
        write(files, Path(tmp))
        return BuildResult(files, run_checks(Path(tmp)), names)


def assert_builds(
    *plugins: Any,
    out: Path | None = None,
    options: BuildOptions | None = None,
    settings: dict[str, str] | None = None,
) -> BuildResult:
    """``build_and_check`` that raises ``BuildCheckFailed`` with a readable report."""
    names = ", ".join(_name(p) for p in plugins) or "core"
    try:
        result = build_and_check(*plugins, out=out, options=options, settings=settings)
    except BuildError as exc:
        raise BuildCheckFailed(f"boss monitoring build of {names}: {exc}") from None
    except ToolMissingError as exc:
        raise BuildCheckFailed(f"boss monitoring build of {names}: {exc}") from None
    failed = [check for check in result.checks if not check.ok]
    if failed:
        lines = [f"boss monitoring build of {names}: {len(failed)} tool check(s) failed:"]
        for check in failed:
            lines.append(f"  - {check.name} ({' '.join(check.command)}):")
            lines += [f"      {line}" for line in check.output.strip().splitlines()]
        raise BuildCheckFailed("\n".join(lines))
    return result


def _name(plugin: Any) -> str:
    return str(getattr(plugin, "name", plugin))
