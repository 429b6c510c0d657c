"""``boss serve --workers 2``: a worker killed with SIGKILL is replaced, the other keeps
serving, and the multiprocess metrics stay right (counters kept, live gauges dropped)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.core.helpers import value
from tests.core.test_serve import boss_env, processes, start_server
from tests.e2e.net import wait_for
from tests.e2e.processes import ProcessGroup

__all__ = ("processes", "worker_pids")

UNMATCHED = {"method": "GET", "endpoint": "<unmatched>", "status": "404"}


def worker_pids(parent: int) -> set[int]:
    """Pids of uvicorn worker processes (spawned children of ``parent``, not the tracker)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) != parent or fields[0] == "Z":
            continue
        if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def _two(parent: int, without: int = 0) -> set[int] | None:
    pids = worker_pids(parent)
    return pids if len(pids) == 2 and without not in pids else None


def _hit(base: str, times: int) -> None:
    for _ in range(times):
        with httpx.Client() as client:  # new connections: the kernel spreads them over workers
            assert client.get(f"{base}/counted/by/both/workers").status_code == 404


def test_a_killed_worker_is_replaced_and_metrics_stay_correct(
    tmp_path: Path, processes: ProcessGroup
) -> None:
    env = boss_env(tmp_path)
    base, proc = start_server(processes, env, "--workers", "2")
    parent = proc.pid  # type: ignore[attr-defined]
    log = proc.log_path.read_text()  # type: ignore[attr-defined]
    metrics_dir = Path(re.search(r"multiprocess metrics in (\S+)", log).group(1))  # type: ignore[union-attr]
    workers = wait_for("two workers", lambda: _two(parent), timeout=60)
    _hit(base, 60)
    text = httpx.get(f"{base}/metrics", timeout=60).text
    before = value(text, "http_requests_total", **UNMATCHED)
    assert before == 60
    # every worker's pool reports its size (5) through a livesum gauge
    assert value(text, "db_pool_connections", state="size") == 10

    victim = max(workers)
    assert any(f.name.endswith(f"_{victim}.db") for f in metrics_dir.iterdir())
    # requests keep flowing on the other worker while the victim dies
    failures: list[str] = []
    served = 0
    stop = threading.Event()

    def traffic() -> None:
        nonlocal served
        with httpx.Client(timeout=10) as client:  # keep-alive: one connection, one worker
            while not stop.is_set():
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        served += 1
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)
                    return

    runner = threading.Thread(target=traffic)
    runner.start()
    time.sleep(0.3)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(
        "a replacement worker",
        lambda: _two(parent, without=victim),
        timeout=90,
        detail=proc.describe,  # type: ignore[attr-defined]
    )
    stop.set()
    runner.join(timeout=30)
    assert victim not in replaced
    assert served > 0
    # The traffic connection lived on one worker: if that was the survivor, nothing failed.
    # If it was the victim, exactly its one connection broke (and the loop stopped).
    assert len(failures) <= 1

    wait_for(
        "the replacement to serve",
        lambda: httpx.get(f"{base}/health", timeout=5).status_code == 200,
        timeout=60,
    )
    text = httpx.get(f"{base}/metrics", timeout=60).text
    # counters of the dead worker are kept, not reset and not doubled
    assert value(text, "http_requests_total", **UNMATCHED) == before
    # its live gauges are gone: two live pools again, not three
    wait_for(
        "the replacement's pool gauge",
        lambda: (
            value(
                httpx.get(f"{base}/metrics", timeout=60).text, "db_pool_connections", state="size"
            )
            == 10
        ),
        timeout=30,
    )
    assert not any(
        f.name.startswith("gauge_live") and f.name.endswith(f"_{victim}.db")
        for f in metrics_dir.iterdir()
    )
    assert any(f.name.endswith(f"_{victim}.db") for f in metrics_dir.iterdir()), (
        "the dead worker's counter files must stay"
    )
    _hit(base, 20)
    # A multiprocess render is reused for RENDER_MAX_AGE (1 s), and the scrape just above
    # may be younger than the 20 requests: poll until a fresh render shows them, and check
    # that it never overshoots.
    seen: list[float] = []

    def counted() -> bool:
        seen.append(
            value(httpx.get(f"{base}/metrics", timeout=60).text, "http_requests_total", **UNMATCHED)
        )
        return seen[-1] == before + 20

    wait_for("the 20 new requests on /metrics", counted, timeout=30, detail=lambda: str(seen))
    assert max(seen) == before + 20
    assert "is gone; a replacement serves in its place" in proc.log_path.read_text()  # type: ignore[attr-defined]
