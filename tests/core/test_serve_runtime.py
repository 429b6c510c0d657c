"""Runtime metrics of a real ``boss serve``: one worker, and two workers where each worker's
process metrics appear under its own ``worker`` label and a killed worker's series vanish.
"""

from __future__ import annotations

import os
import signal
import time

import httpx

from tests.core.helpers import samples, value
from tests.core.test_serve import boss_env, processes, start_server  # noqa: F401 (fixture)

PER_WORKER = (
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
)


def _workers(text: str, name: str = "process_resident_memory_bytes") -> set[str]:
    return {dict(labels)["worker"] for (sample, labels) in samples(text) if sample == name}


def _scrape_until(base: str, ready, what: str, timeout: float = 60.0) -> str:
    """Scrape ``/metrics`` until ``ready(text)`` holds (workers sample every few seconds)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = httpx.get(f"{base}/metrics", timeout=10).text
        except httpx.TransportError:  # a worker was just killed with our connection
            text = ""
        if text and ready(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen; last scrape:\n{text[-3000:]}")


def _check_runtime_series(text: str, workers: set[str]) -> None:
    for name in PER_WORKER:
        assert _workers(text, name) == workers, name
    for worker in workers:
        assert value(text, "process_resident_memory_bytes", worker=worker) > 1_000_000
        assert value(text, "process_cpu_seconds_total", worker=worker) > 0
        for generation in ("0", "1", "2"):
            key = (
                "python_gc_collections_total",
                frozenset({("worker", worker), ("generation", generation)}),
            )
            assert key in samples(text)
    assert value(text, "boss_event_loop_lag_seconds_count") >= 1
    builds = [dict(labels) for (sample, labels) in samples(text) if sample == "boss_build_info"]
    assert [b["version"] for b in builds] == ["0.1.0"]
    assert any(sample == "python_info" for sample, _ in samples(text))


def test_one_worker_exposes_runtime_metrics(tmp_path, processes):  # noqa: F811
    base, proc = start_server(processes, boss_env(tmp_path))
    text = _scrape_until(
        base,
        lambda t: value(t, "boss_event_loop_lag_seconds_count") >= 1,
        "a loop-lag observation",
    )
    # One worker: the serve process itself answers.
    _check_runtime_series(text, {str(proc.pid)})  # type: ignore[attr-defined]


def test_two_workers_each_expose_process_metrics_and_a_killed_one_disappears(
    tmp_path,
    processes,  # noqa: F811
):
    base, proc = start_server(processes, boss_env(tmp_path), "--workers", "2")
    text = _scrape_until(
        base,
        lambda t: len(_workers(t)) == 2 and value(t, "boss_event_loop_lag_seconds_count") >= 2,
        "two workers' samples",
    )
    workers = _workers(text)
    assert str(proc.pid) not in workers  # the supervisor serves nothing; workers are children
    _check_runtime_series(text, workers)
    total = sum(value(text, "process_resident_memory_bytes", worker=w) for w in workers)
    assert total > max(value(text, "process_resident_memory_bytes", worker=w) for w in workers)

    victim = min(workers)
    os.kill(int(victim), signal.SIGKILL)
    # uvicorn replaces the worker; the next render drops the dead pid's live gauges.
    text = _scrape_until(
        base,
        lambda t: victim not in _workers(t) and len(_workers(t)) == 2,
        f"worker {victim} vanishing and its replacement appearing",
    )
    for name in (*PER_WORKER, "boss_http_requests_in_flight", "python_gc_collections_total"):
        assert victim not in _workers(text, name), name
    assert [dict(labels)["version"] for (s, labels) in samples(text) if s == "boss_build_info"] == [
        "0.1.0"
    ]
