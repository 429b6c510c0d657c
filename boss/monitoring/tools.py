"""Find and run promtool and amtool: syntax checks, rule unit tests, config checks.

The tools come from ``PATH`` or the project's ``.tools/bin`` (filled by ``make tools``, i.e.
``scripts/fetch-tools.sh``), at the versions ``compose.monitoring.yml`` pins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from boss.monitoring.errors import ToolMissingError

__all__ = ("CheckResult", "find_tool", "run_checks", "run_tool")

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _candidates(name: str) -> list[Path]:
    """The pinned copy first (``$BOSS_TOOLS_DIR``, cwd, this checkout), then ``PATH``."""
    out = [root / ".tools" / "bin" / name for root in (Path.cwd(), _PROJECT_ROOT)]
    if os.environ.get("BOSS_TOOLS_DIR"):
        out.insert(0, Path(os.environ["BOSS_TOOLS_DIR"]) / "bin" / name)
    found = shutil.which(name)
    if found:
        out.append(Path(found))
    return out


def find_tool(name: str) -> str:
    """The path of ``name`` (``promtool``, ``amtool``, …); raise ToolMissingError if absent.

    The pinned copy in ``.tools/bin`` wins over ``PATH``, so the checks run with the
    versions compose deploys even where the system has other ones installed.
    """
    for path in _candidates(name):
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise ToolMissingError(
        f"{name} not found on PATH or in .tools/bin: run `make tools` "
        "(scripts/fetch-tools.sh) to fetch promtool, prometheus, amtool and alertmanager"
    )


def run_tool(args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool and capture its output (it is never interactive and never slow)."""
    return subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=False,
        timeout=120,
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One tool run on the generated files."""

    name: str
    command: tuple[str, ...]
    ok: bool
    output: str


def run_checks(out: Path) -> list[CheckResult]:
    """promtool check config/rules, promtool test rules and amtool check-config on ``out``."""
    promtool, amtool = find_tool("promtool"), find_tool("amtool")
    prom = out / "monitoring" / "prometheus"
    rules = sorted(str(p) for p in (prom / "rules").glob("*.yml"))
    tests = sorted(str(p) for p in (prom / "tests").glob("*.yml"))
    am = out / "monitoring" / "alertmanager" / "alertmanager.yml"
    plan: list[tuple[str, list[str], bool]] = [
        (
            "promtool check config",
            [promtool, "check", "config", str(prom / "prometheus.yml")],
            True,
        ),
        ("promtool check rules", [promtool, "check", "rules", *rules], bool(rules)),
        ("promtool test rules", [promtool, "test", "rules", *tests], bool(tests)),
        ("amtool check-config", [amtool, "check-config", str(am)], True),
    ]
    results = []
    for name, command, has_input in plan:
        if not has_input:
            results.append(CheckResult(name, tuple(command), False, "no files to check"))
            continue
        done = run_tool(command)
        output = done.stdout + done.stderr
        results.append(CheckResult(name, tuple(command), done.returncode == 0, output))
    return results
