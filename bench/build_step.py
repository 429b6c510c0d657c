"""Section 4: wall time of ``boss monitoring build``, built-in plugins and generated ones.

The built-in build is the real CLI writing into a temporary ``--out``; the generated sizes
go through the build's Python API (``load_fragments`` + ``render``) with an explicit plugin
list, each size in a fresh process. Time per plugin must stay flat for the build to grow
linearly; a size whose predicted time (quadratic extrapolation) exceeds the budget is
skipped with its prediction recorded, so a superlinear build cannot stall the whole run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import Options, log
from bench._servers import ROOT, VENV_BIN

__all__ = ("SIZES", "available", "run")

SIZES = (10, 25, 50, 100, 200)
QUICK_SIZES = (5, 10)
BUDGET_SECONDS = 90.0
"""Longest single generated-plugin build the default run waits for."""


def available() -> str | None:
    """Why the section cannot run, or ``None``."""
    try:
        import boss.monitoring  # noqa: F401
    except ImportError as exc:
        return f"boss.monitoring is not importable ({exc})"
    from boss.monitoring import ToolMissingError, find_tool

    try:
        find_tool("promtool")
    except ToolMissingError as exc:
        return str(exc)
    return None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = (
        f"{ROOT / '.tools' / 'bin'}{os.pathsep}{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    )
    env["PYTHONPATH"] = str(ROOT)
    return env


def _all_cpus() -> list[str]:
    return ["taskset", "-c", ",".join(str(c) for c in sorted(range(os.cpu_count() or 1)))]


def _placeholder_runbooks(directory: Path) -> list[str]:
    """An override folder with a stub for every installed alert (packaged pages or not)."""
    from boss.loader import load_plugins
    from boss.settings import load_settings

    directory.mkdir(parents=True, exist_ok=True)
    added = []
    for item in load_plugins(load_settings()):
        for alert in item.plugin.alerts:
            page = directory / alert.runbook_page
            if not page.exists():
                page.write_text(f"# {alert.name}\n\nPlaceholder for the build benchmark.\n")
                added.append(alert.runbook_page)
    return added


def _builtin(repeats: int) -> dict[str, Any]:
    first = _builtin_runs(repeats, None)
    if "error" not in first or "missing runbook page" not in first["error"]:
        return first
    with tempfile.TemporaryDirectory(prefix="boss-bench-runbooks-") as tmp:
        added = _placeholder_runbooks(Path(tmp))
        second = _builtin_runs(repeats, Path(tmp))
    second["note"] = (
        f"the plain command failed on missing runbook pages ({', '.join(added)}); "
        "timed with --runbooks-dir holding stubs for them"
    )
    return second


def _builtin_runs(repeats: int, runbooks: Path | None) -> dict[str, Any]:
    times = []
    output = ""
    extra = ["--runbooks-dir", str(runbooks)] if runbooks else []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="boss-bench-out-") as out:
            started = time.perf_counter()
            done = subprocess.run(
                [*_all_cpus(), str(VENV_BIN / "boss"), "monitoring", "build", "--out", out, *extra],
                cwd=ROOT,
                env=_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": (done.stdout + done.stderr).strip()[-2000:]}
        times.append(elapsed)
        output = done.stdout.strip()
    return {
        "command": "boss monitoring build --out <tmp>",
        "wall_s_median": round(statistics.median(times), 3),
        "wall_s_runs": [round(t, 3) for t in times],
        "output": output,
    }


def _generated(count: int) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [*_all_cpus(), str(VENV_BIN / "python"), "-m", "bench.build_worker", str(count)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith("BUILDJSON "):
            result: dict[str, Any] = json.loads(line[len("BUILDJSON ") :])
            result["process_wall_s"] = round(wall, 3)
            result["s_per_plugin"] = round(result["total_s"] / count, 4)
            return result
    return {"plugins": count, "error": (done.stdout + done.stderr).strip()[-2000:]}


def _predict(points: list[tuple[int, float]], count: int) -> float:
    """Time for ``count`` plugins if cost grows with the square of the plugin count."""
    size, seconds = points[-1]
    return seconds * (count / size) ** 2


def run(options: Options) -> tuple[dict[str, Any], dict[str, int]]:
    """Run section 4 (or record why it was skipped)."""
    reason = available()
    if reason:
        log(f"build: skipped: {reason}")
        return {"skipped": reason}, {}
    log("build: built-in plugins through the CLI")
    builtin = _builtin(1)
    log(f"  built-in: {builtin.get('wall_s_median', builtin.get('error'))}")
    sizes = QUICK_SIZES if options.quick else SIZES
    generated: list[dict[str, Any]] = []
    points: list[tuple[int, float]] = []
    for count in sizes:
        if points:
            predicted = _predict(points, count)
            if predicted > BUDGET_SECONDS:
                log(
                    f"  {count} plugins: skipped, predicted {predicted:.0f} s > budget {BUDGET_SECONDS:.0f} s"
                )
                generated.append(
                    {
                        "plugins": count,
                        "skipped": f"predicted {predicted:.0f} s at quadratic growth "
                        f"(budget {BUDGET_SECONDS:.0f} s)",
                    }
                )
                continue
        result = _generated(count)
        generated.append(result)
        if "error" in result:
            log(f"  {count} plugins: failed: {result['error'][-300:]}")
            break
        points.append((count, result["total_s"]))
        log(f"  {count} plugins: {result['total_s']} s ({result['s_per_plugin']} s/plugin)")
    per_plugin = [r["s_per_plugin"] for r in generated if "s_per_plugin" in r]
    growth = round(per_plugin[-1] / per_plugin[0], 2) if len(per_plugin) >= 2 else None
    return {
        "builtin": builtin,
        "generated": generated,
        "per_plugin_growth": growth,
        "linear": growth is not None and growth <= 1.5,
        "note": "per_plugin_growth = s/plugin at the largest measured size over the smallest; "
        "~1 means linear, ~size ratio means quadratic",
    }, {}
