"""Run every boss benchmark in one go: ``python bench/run.py`` (``make bench``).

Writes ``bench/results/<section>.json`` and ``bench/results/summary.md``. Needs wrk
(``apt-get install -y wrk``), PostgreSQL and Redis on 127.0.0.1 for the task API section.
``--quick`` is a smoke run (seconds, not minutes); ``--only`` picks sections.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import build_step, http_overhead, report, scrape, tasks_api
from bench._common import Options, log, machine, results_dir, write_result
from bench._wrk import require_wrk

__all__ = ("SECTIONS", "main")

SECTIONS = ("http", "scrape", "tasks", "build")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round of 1 s, small sizes"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma list of {','.join(SECTIONS)}"
    )
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 4)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="seconds per wrk run (default 3)"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    return parser.parse_args(argv)


def _require_peers() -> None:
    """The peer frameworks of the HTTP section, or exit with how to install them."""
    import importlib.util

    missing = [
        name
        for name in ("fastapi", "prometheus_fastapi_instrumentator")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise SystemExit(
            f"bench: {', '.join(missing)} not installed; run: .venv/bin/pip install -e '.[bench]'"
        )


def _earlier_results(names: list[str], quick: bool) -> dict[str, Any]:
    """Result files of sections not run this time (``--only``), so the summary stays whole."""
    out: dict[str, Any] = {}
    for name in [*names, "memory"]:
        path = results_dir(quick) / f"{name}.json"
        if path.exists():
            out[name] = json.loads(path.read_text())
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections, write the result files and the summary."""
    args = _parse(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        raise SystemExit(
            f"bench: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    require_wrk()
    if "http" in only:
        _require_peers()
    options = Options.make(
        quick=args.quick, rounds=args.rounds, seconds=args.seconds, connections=args.connections
    )
    if options.load_core is not None:
        os.sched_setaffinity(
            0, {options.load_core}
        )  # our own client work stays off the server core
    else:
        log("only one CPU: server and load generator share it (numbers are less meaningful)")
    info = machine(options)
    log(
        f"machine: {info['nproc']} CPUs, {info['cpu_model']}; server core {options.server_core}, load core {options.load_core}"
    )
    started = time.monotonic()
    documents: dict[str, Any] = {}
    memory: dict[str, int] = {}
    failed: list[str] = []
    runners = {
        "http": http_overhead.run,
        "scrape": scrape.run,
        "tasks": tasks_api.run,
        "build": build_step.run,
    }
    for name in SECTIONS:
        if name not in only:
            continue
        section_started = time.monotonic()
        try:
            try:
                document, rss = runners[name](options)
            except RuntimeError as exc:
                if "names unknown plugin" not in str(exc):
                    raise
                # Another process (un)installed a plugin between our scan and the server start.
                log(f"{name}: the set of installed plugins changed meanwhile; running it again")
                document, rss = runners[name](options)
        except Exception as exc:  # one broken section must not lose the others' numbers
            failed.append(name)
            log(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            document, rss = {"error": f"{type(exc).__name__}: {exc}"[-3000:]}, {}
        document["machine"] = info
        document["quick"] = options.quick
        document["wall_seconds"] = round(time.monotonic() - section_started, 1)
        memory.update(rss)
        documents[name] = document
        path = write_result(name, document)
        log(f"{name}: wrote {path} ({document['wall_seconds']} s)")
    earlier = _earlier_results([name for name in SECTIONS if name not in documents], options.quick)
    if memory:
        previous = earlier.pop("memory", {}).get("peak_rss_kib", {})
        kept = {k: v for k, v in previous.items() if k.split("/")[0] not in documents}
        documents["memory"] = {
            "peak_rss_kib": {**kept, **memory},
            "machine": info,
            "quick": options.quick,
        }
        write_result("memory", documents["memory"])
    documents = {**earlier, **documents}
    summary = report.write_summary(documents, info, options)
    log(f"wrote {summary} after {time.monotonic() - started:.0f} s")
    if failed:
        log(f"sections that failed: {', '.join(failed)} (see their result files)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
