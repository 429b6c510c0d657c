"""The CI chaos run: ``boss serve --workers 2`` on PostgreSQL and Redis under 16 clients,
with Redis killed and restarted, every database connection cut, PostgreSQL restarted (a
private cluster; the step is skipped with the reason printed where that is impossible),
Discord answering 429 to a third of the calls plus 5xx and timeouts, and a worker
SIGKILLed mid-load. The invariants are the issue's: no 5xx and no client-level failure
(outside the killed worker's own connections and the restart window's 503s), every 201
readable with its audit entry, ``tasks_created_total`` equal to the rows, every task
event's Discord notification counted exactly once within a minute after the load.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.chaos.harness import CI_PHASES, Chaos, check_invariants, render, run


def test_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path, workers=2)
    started = time.monotonic()
    with chaos.running():
        print(f"chaos: stack up after {time.monotonic() - started:.1f} s", flush=True)
        report = asyncio.run(run(chaos, CI_PHASES, clients=16, settle=60.0))
    print(f"chaos: done after {time.monotonic() - started:.1f} s", flush=True)
    text = render(report)
    print(text)
    problems = check_invariants(report)
    assert not problems, text + "\n\nviolated:\n" + "\n".join(problems)
    assert report.created > 100, text
    assert report.workers_replaced == 1, text
    assert all(p.requests > 0 for p in report.phases), text
