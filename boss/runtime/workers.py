"""Find the worker processes behind a multiprocess metrics directory and forget dead ones.

prometheus-client keeps a dead worker's live-gauge files until someone calls
``mark_process_dead``. The ``/metrics`` renderer calls ``prune_dead_workers`` before every
multiprocess render, so a killed worker's per-worker series vanish at the next scrape even
when no supervisor hook told anyone it died.
"""

from __future__ import annotations

import os
import re

from prometheus_client.multiprocess import mark_process_dead

__all__ = ("is_alive", "live_gauge_pids", "prune_dead_workers")

_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def live_gauge_pids(path: str) -> set[int]:
    """Pids that own live-gauge files in the multiprocess directory ``path``."""
    try:
        names = os.listdir(path)
    except OSError:
        return set()
    return {int(m.group(1)) for name in names if (m := _LIVE_FILE.match(name))}


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: trust kill()
    return state not in (b"Z", b"X")


def prune_dead_workers(path: str) -> list[int]:
    """Drop the live-gauge files of every dead worker under ``path``; return their pids."""
    dead = sorted(pid for pid in live_gauge_pids(path) if not is_alive(pid))
    for pid in dead:
        mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return dead
