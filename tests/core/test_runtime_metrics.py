"""Runtime metrics in one process: process, GC, Python and build info, event-loop lag,
in-flight requests; and dropping dead workers' live gauges in multiprocess mode.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, ClassVar

import anyio
import anyio.to_thread
import httpx
import pytest
from litestar import get
from litestar.config.app import AppConfig
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry

from boss import BossPlugin
from boss.app import create_app
from boss.metrics_endpoint import MULTIPROC_ENV, render_multiprocess
from boss.metrics_registry import materialise
from boss.runtime.fragments import RUNTIME_METRICS
from boss.runtime.info import distribution_version
from boss.runtime.process import ProcessReader
from boss.runtime.sampler import RuntimeSampler
from boss.runtime.workers import prune_dead_workers
from boss.settings import load_settings
from tests.core.helpers import samples, value

pytestmark = pytest.mark.anyio
IMPORTED_AT = time.time()


class SlowPlugin(BossPlugin):
    """A route that waits for the test, and one that blocks the event loop."""

    name = "slow"
    release: ClassVar[threading.Event] = threading.Event()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        @get("/open/wait")
        async def wait() -> str:
            # The test sets a threading.Event: wait for it in a worker thread.
            await anyio.to_thread.run_sync(SlowPlugin.release.wait)
            return "released"

        @get("/open/block", sync_to_thread=False)
        def block() -> str:
            time.sleep(1.2)  # blocks the event loop on purpose
            return "blocked"

        app_config.route_handlers += [wait, block]
        return app_config


@pytest.fixture
def app(base_env):
    return create_app(load_settings(base_env), plugins=[SlowPlugin])


def _labelled(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (sample, labels), v in samples(text).items() if sample == name}


async def test_process_gc_python_and_build_info_on_metrics(app):
    worker = str(os.getpid())
    async with AsyncTestClient(app) as client:
        text = (await client.get("/metrics")).text
    assert value(text, "process_resident_memory_bytes", worker=worker) > 1_000_000
    assert value(text, "process_virtual_memory_bytes", worker=worker) >= value(
        text, "process_resident_memory_bytes", worker=worker
    )
    assert value(text, "process_cpu_seconds_total", worker=worker) > 0
    open_fds = value(text, "process_open_fds", worker=worker)
    assert 0 < open_fds < value(text, "process_max_fds", worker=worker)
    started = value(text, "process_start_time_seconds", worker=worker)
    assert 0 < started <= time.time()
    for generation in ("0", "1", "2"):
        assert (
            "python_gc_collections_total",
            frozenset({("worker", worker), ("generation", generation)}),
        ) in samples(text)
    assert value(text, "python_gc_collections_total", worker=worker, generation="0") > 0
    major, minor, patch = platform.python_version_tuple()
    assert (
        value(
            text,
            "python_info",
            implementation=platform.python_implementation(),
            major=major,
            minor=minor,
            patchlevel=patch,
            version=platform.python_version(),
        )
        == 1
    )
    assert (
        value(
            text,
            "boss_build_info",
            version=distribution_version("boss"),
            python=platform.python_version(),
            litestar=distribution_version("litestar"),
        )
        == 1
    )
    assert distribution_version("boss") == "0.1.0"
    plugins = {dict(labels)["name"]: dict(labels) for labels in _labelled(text, "boss_plugin_info")}
    assert plugins["core"] == {"name": "core", "version": "0.1.0", "distribution": "boss"}
    assert plugins["slow"]["version"] == "unknown"  # passed in code, not from a distribution


async def test_event_loop_lag_histogram_sees_a_blocked_loop(app):
    async with AsyncTestClient(app) as client:
        for _ in range(100):  # the timer ticks every 0.5 s: wait for its first observations
            text = (await client.get("/metrics")).text
            if value(text, "boss_event_loop_lag_seconds_count") >= 2:
                break
            await anyio.sleep(0.1)
        before_slow = value(text, "boss_event_loop_lag_seconds_count") - value(
            text, "boss_event_loop_lag_seconds_bucket", le="0.5"
        )
        assert (await client.get("/open/block")).text == "blocked"
        for _ in range(100):
            text = (await client.get("/metrics")).text
            late = value(text, "boss_event_loop_lag_seconds_count") - value(
                text, "boss_event_loop_lag_seconds_bucket", le="0.5"
            )
            if late > before_slow:
                break
            await anyio.sleep(0.1)
    # A 1.2 s block holds back a 0.5 s timer by more than 0.5 s at least once.
    assert late > before_slow, text


async def test_in_flight_requests_are_sampled_per_worker(app):
    # httpx's ASGI transport runs requests on this loop, so two can be in flight at once
    # (Litestar's test client answers one request at a time from a portal thread).
    worker = str(os.getpid())
    SlowPlugin.release.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://boss") as client:
        answers: list[str] = []
        async with anyio.create_task_group() as group:

            async def call() -> None:
                answers.append((await client.get("/open/wait")).text)

            group.start_soon(call)
            group.start_soon(call)
            with anyio.fail_after(30):
                while app.recorder.in_flight < 2:  # noqa: ASYNC110 (a plain int, no event)
                    await anyio.sleep(0.01)
            text = (await client.get("/metrics")).text
            SlowPlugin.release.set()
        assert value(text, "boss_http_requests_in_flight", worker=worker) == 2
        assert answers == ["released", "released"]
        text = (await client.get("/metrics")).text
    assert value(text, "boss_http_requests_in_flight", worker=worker) == 0


def test_process_reader_matches_the_running_process():
    stats = ProcessReader().read()
    assert stats is not None
    assert stats.resident_memory_bytes > 0
    assert stats.cpu_seconds > 0
    assert stats.open_fds is not None
    assert stats.max_fds is not None
    assert stats.open_fds <= stats.max_fds
    # This process started before this module was imported (btime has 1 s resolution).
    assert IMPORTED_AT - 24 * 3600 < stats.start_time_seconds <= IMPORTED_AT + 1


def test_reader_without_proc_reports_nothing(tmp_path):
    reader = ProcessReader(proc=str(tmp_path))
    assert not reader.available
    assert reader.read() is None


WORKER = textwrap.dedent(
    """
    import sys
    from prometheus_client import CollectorRegistry
    from boss.metrics_registry import materialise
    from boss.runtime.sampler import RuntimeSampler
    from boss.runtime.fragments import RUNTIME_METRICS
    RuntimeSampler(materialise("core", RUNTIME_METRICS, CollectorRegistry())).sample()
    print("sampled", flush=True)
    if sys.argv[1] == "stay":
        sys.stdin.read()
    """
)


def _worker(path: str, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, mode],
        env={**os.environ, MULTIPROC_ENV: path},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "sampled\n"
    return proc


def _workers_in(text: str) -> set[str]:
    return {dict(labels)["worker"] for labels in _labelled(text, "process_resident_memory_bytes")}


def test_dead_workers_live_gauges_disappear_from_the_render(tmp_path):
    path = str(tmp_path)
    alive = _worker(path, "stay")
    zombie = _worker(path, "exit")  # exits but is not reaped yet
    try:
        for _ in range(100):
            if zombie.poll() is None:
                time.sleep(0.05)
        assert _workers_in(render_multiprocess_raw(path)) == {str(alive.pid), str(zombie.pid)}
        text, _ = render_multiprocess(path, "")
        assert _workers_in(text.decode()) == {str(alive.pid)}
        assert prune_dead_workers(path) == []  # already pruned by the render
        assert alive.stdin is not None
        alive.stdin.close()
        alive.wait(timeout=30)
        assert prune_dead_workers(path) == [alive.pid]
        assert _workers_in(render_multiprocess(path, "")[0].decode()) == set()
    finally:
        for proc in (alive, zombie):
            proc.kill()
            proc.wait()


def render_multiprocess_raw(path: str) -> str:
    """The render without pruning: what prometheus-client alone would expose."""
    from prometheus_client.exposition import generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry).decode()


STOPPING = textwrap.dedent(
    """
    import asyncio, os, sys
    from prometheus_client import CollectorRegistry
    from boss.metrics_registry import materialise
    from boss.runtime.sampler import RuntimeSampler
    from boss.runtime.fragments import RUNTIME_METRICS

    def live():
        return sorted(f for f in os.listdir(sys.argv[1]) if f.startswith("gauge_live"))

    async def main():
        sampler = RuntimeSampler(materialise("core", RUNTIME_METRICS, CollectorRegistry()))
        await sampler.start()
        sampler.sample()
        print(len(live()), flush=True)
        await sampler.stop()
        print(len(live()), flush=True)

    asyncio.run(main())
    """
)


def test_sampler_stop_drops_its_own_live_gauges_in_multiprocess_mode(tmp_path):
    # prometheus-client picks multiprocess mode at import: run a fresh interpreter.
    result = subprocess.run(
        [sys.executable, "-c", STOPPING, str(tmp_path)],
        env={**os.environ, MULTIPROC_ENV: str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    during, after = (int(line) for line in result.stdout.split())
    assert during >= 1
    assert after == 0
    assert any(f.name.startswith("histogram_") for f in tmp_path.iterdir())  # counters stay


async def test_sampler_keeps_timing_when_proc_reading_fails(caplog):
    class Broken(ProcessReader):
        def read(self) -> Any:
            raise OSError("no /proc today")

    registry = CollectorRegistry()
    sampler = RuntimeSampler(
        materialise("core", RUNTIME_METRICS, registry), reader=Broken(), tick=0.01, sample_every=0
    )
    await sampler.start()
    try:
        with anyio.fail_after(30):
            while (registry.get_sample_value("boss_event_loop_lag_seconds_count") or 0) < 5:  # noqa: ASYNC110
                await anyio.sleep(0.01)
    finally:
        await sampler.stop()
    assert "runtime metrics sampling failed" in caplog.text
