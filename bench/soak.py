"""The long reliability run: ``python bench/soak.py --duration 600 --clients 16 --workers 2``.

The same harness as ``tests/chaos`` (``tests/chaos/harness.py``), for longer: real
``boss serve --workers N`` on a private PostgreSQL cluster (or a fresh database on the
machine's server, when a private cluster cannot run: then the restart step is skipped and
says why) and its own ``redis-server``, bounded concurrent clients creating and reading
tasks, and a fault cycle repeated until ``--duration`` is used up: steady load, Redis killed
and restarted empty, every database connection cut, Discord answering 5xx and hanging,
PostgreSQL restarted, a worker SIGKILLed. Discord answers 429 to a third of the calls
throughout. Prints the per-phase report and the invariants, writes them to ``--output``
(Markdown) and exits 1 when an invariant is violated.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos.harness import (
    Chaos,
    Phase,
    check_invariants,
    database_cut,
    discord_trouble,
    postgres_restart,
    redis_outage,
    render,
    run,
    temporary_root,
    worker_kill,
)

__all__ = ("cycle", "main")


def cycle(scale: float = 1.0) -> list[Phase]:
    """One round of every fault (about 140 s at ``scale`` 1)."""
    return [
        Phase("steady", 30 * scale),
        Phase("redis-outage", 20 * scale, functools.partial(redis_outage, down=8.0 * scale)),
        Phase("steady", 15 * scale),
        Phase(
            "db-connections-cut",
            20 * scale,
            functools.partial(database_cut, times=4, every=4.0 * scale),
        ),
        Phase("discord-5xx-timeouts", 15 * scale, discord_trouble),
        Phase("pg-restart", 20 * scale, postgres_restart),
        Phase("worker-kill", 20 * scale, worker_kill),
    ]


def _phases(duration: float) -> list[Phase]:
    phases: list[Phase] = []
    while sum(p.seconds for p in phases) < duration:
        phases.extend(cycle())
    while phases and sum(p.seconds for p in phases) - phases[-1].seconds >= duration:
        phases.pop()
    return phases


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (600)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=2, help="boss serve --workers (2)")
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds Discord gets after the load (60)"
    )
    parser.add_argument(
        "--shared-pg",
        action="store_true",
        help="use the machine's PostgreSQL (a fresh database) instead of a private cluster",
    )
    parser.add_argument("--output", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.workers < 1 or args.duration <= 0:
        parser.error("--clients and --workers must be >= 1 and --duration > 0")
    phases = _phases(args.duration)
    root = temporary_root()
    chaos = Chaos(root, workers=args.workers, private_pg=not args.shared_pg)
    started = time.monotonic()
    load_before = _load_average()
    with chaos.running():
        report = asyncio.run(run(chaos, phases, clients=args.clients, settle=args.settle))
    load_after = _load_average()
    problems = check_invariants(report)
    header = (
        f"soak: {sum(p.seconds for p in phases):.0f} s of load in {len(phases)} phases, "
        f"{args.clients} clients, {args.workers} workers, {os.cpu_count()} CPUs; "
        f"load average before {load_before}, after {load_after}; "
        f"{time.monotonic() - started:.0f} s wall time"
    )
    verdict = "invariants: all hold" if not problems else "violated:\n" + "\n".join(problems)
    text = f"{header}\n\n{render(report)}\n\n{verdict}\n"
    print(text)
    if args.output is not None:
        args.output.write_text(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
