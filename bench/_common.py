"""What every benchmark section shares: run options, machine facts, medians, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = (
    "QUICK_RESULTS",
    "RESULTS",
    "Options",
    "log",
    "machine",
    "median",
    "results_dir",
    "write_result",
)

RESULTS = Path(__file__).resolve().parent / "results"
QUICK_RESULTS = RESULTS / "quick"
"""``--quick`` smoke runs write here (ignored by git), never over the committed results."""


@dataclass(frozen=True)
class Options:
    """How long and how hard to run; ``quick`` shrinks everything for a smoke run."""

    quick: bool
    rounds: int
    seconds: float
    connections: int
    server_core: int | None
    load_core: int | None

    @classmethod
    def make(
        cls, *, quick: bool, rounds: int | None, seconds: float | None, connections: int
    ) -> Options:
        """Defaults for a full or ``--quick`` run; pins server and load to the first two CPUs."""
        cpus = sorted(os.sched_getaffinity(0))
        server_core, load_core = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
        return cls(
            quick=quick,
            rounds=rounds if rounds is not None else (1 if quick else 4),
            seconds=seconds if seconds is not None else (1.0 if quick else 3.0),
            connections=connections,
            server_core=server_core,
            load_core=load_core,
        )


def log(message: str) -> None:
    """Progress on stderr, flushed, so a long run shows where it is."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    """The median, rounded for reports (0 for no values)."""
    return round(statistics.median(values), 3) if values else 0.0


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "?"


def machine(options: Options) -> dict[str, Any]:
    """Where and with what the numbers were measured."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "server_core": options.server_core,
        "load_core": options.load_core,
        "wrk": _wrk_version(),
        "versions": {
            name: _version(name)
            for name in (
                "boss",
                "litestar",
                "fastapi",
                "prometheus-client",
                "prometheus-fastapi-instrumentator",
                "uvicorn",
                "httptools",
                "uvloop",
            )
        },
    }


def results_dir(quick: bool) -> Path:
    """Where a run writes: ``bench/results`` or, for ``--quick``, ``bench/results/quick``."""
    return QUICK_RESULTS if quick else RESULTS


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``<results>/<name>.json`` (sorted keys, stable diffs)."""
    folder = results_dir(bool(data.get("quick")))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
