"""``/metrics`` rendering: the multiprocess child process, coalesced scrapes, shutdown, recovery."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from boss.app import create_app
from boss.metrics_endpoint import MULTIPROC_ENV, MetricsRenderer, exposition, metrics_handler
from boss.settings import load_settings
from tests.core.helpers import samples

pytestmark = pytest.mark.anyio

WRITER = textwrap.dedent(
    """
    from prometheus_client import Counter, Gauge, Histogram
    requests = Counter("demo_requests", "r", ["route"])
    requests.labels("/a").inc(3)
    requests.labels("/b").inc()
    Gauge("demo_inflight", "g", multiprocess_mode="sum").set(2)
    Histogram("demo_seconds", "h", buckets=(0.1, 1.0)).observe(0.5)
    """
)


@pytest.fixture
def multiproc_dir(tmp_path, monkeypatch) -> Iterator[str]:
    """A multiprocess directory holding two workers' mmap files, set in the environment."""
    path = tmp_path / "multiproc"
    path.mkdir()
    env = {**os.environ, MULTIPROC_ENV: str(path)}
    for _ in range(2):  # two processes, two pids: the render must add them up
        subprocess.run([sys.executable, "-c", WRITER], env=env, check=True)
    monkeypatch.setenv(MULTIPROC_ENV, str(path))
    return str(path)


def _children() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _openmetrics_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in openmetrics_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


async def test_child_process_render_matches_the_in_process_collector(multiproc_dir):
    reference = CollectorRegistry()
    MultiProcessCollector(reference, path=multiproc_dir)
    renderer = MetricsRenderer(CollectorRegistry())
    before = _children()
    try:
        body, content_type = await renderer.render(None)
        assert renderer.pool is not None  # rendered in the child, not here
        assert _children() - before  # the spawn child exists
        text_body, _ = exposition(reference, None)
        assert content_type.startswith("text/plain")
        got = samples(body.decode())
        assert got == samples(text_body.decode())
        assert got[("demo_requests_total", frozenset({("route", "/a")}))] == 6
        assert got[("demo_inflight", frozenset())] == 4
        om_body, om_type = await renderer.render(OPENMETRICS)
        assert om_type.startswith("application/openmetrics-text")
        want_om, _ = exposition(reference, OPENMETRICS)
        assert _openmetrics_samples(om_body.decode()) == _openmetrics_samples(want_om.decode())
    finally:
        await renderer.close()


class _SlowCollector:
    """Counts collections and blocks each one until released, so scrapes overlap."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def collect(self) -> Iterator[CounterMetricFamily]:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(30)
        yield CounterMetricFamily("slow", "slow", value=self.calls)


async def test_concurrent_scrapes_share_one_render_in_one_process(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    registry = CollectorRegistry()
    slow = _SlowCollector()
    registry.register(slow)  # type: ignore[arg-type]
    renderer = MetricsRenderer(registry)
    started = 0
    all_started = anyio.Event()
    bodies: list[bytes] = []

    async def scrape() -> None:
        nonlocal started
        started += 1  # render() reaches the shared flight without awaiting first
        if started == 5:
            all_started.set()
        bodies.append((await renderer.render(None))[0])

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(scrape)
        await anyio.to_thread.run_sync(slow.entered.wait, 30)
        await all_started.wait()
        slow.release.set()
    assert len(bodies) == 5
    assert len(set(bodies)) == 1
    assert slow.calls == 1
    assert renderer.renders == 1
    # Done renders are not reused in one process: the next scrape renders afresh.
    await renderer.render(None)
    assert slow.calls == 2
    assert renderer.renders == 2
    # A different content type is a different render.
    await renderer.render(OPENMETRICS)
    assert renderer.renders == 3


async def test_before_render_runs_on_every_scrape(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    registry = CollectorRegistry()
    flushes: list[int] = []
    app = Litestar(
        [metrics_handler("/metrics", registry, "", before_render=lambda: flushes.append(1))]
    )
    async with AsyncTestClient(app) as client:
        for _ in range(3):
            assert (await client.get("/metrics")).status_code == 200
    assert len(flushes) == 3


async def test_multiprocess_reuses_a_recent_render(multiproc_dir):
    renderer = MetricsRenderer(CollectorRegistry(), max_age=3600)
    try:
        results = []

        async def scrape() -> None:
            results.append(await renderer.render(None))

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(scrape)
        first = await renderer.render(None)
        assert renderer.renders == 1
        assert all(result == first for result in results)
        renderer.max_age = 0
        await renderer.render(None)
        assert renderer.renders == 2
    finally:
        await renderer.close()


async def test_app_shutdown_stops_the_render_child(multiproc_dir, base_env):
    app = create_app(load_settings(base_env))
    renderer: MetricsRenderer = app.state["metrics_renderer"]
    before = _children()
    async with AsyncTestClient(app) as client:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert "demo_requests_total" in response.text
        assert renderer.pool is not None
        started = _children() - before
        assert started
    assert renderer.pool is None
    assert not started & _children()


async def test_killed_child_is_replaced(multiproc_dir, caplog):
    renderer = MetricsRenderer(CollectorRegistry(), max_age=0)
    try:
        before = _children()
        first, _ = await renderer.render(None)
        old_pool = renderer.pool
        for pid in _children() - before:
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="boss.metrics"):
            second, _ = await renderer.render(None)
        assert samples(second.decode()) == samples(first.decode())
        assert renderer.pool is not None
        assert renderer.pool is not old_pool
        assert "child process died" in caplog.text
    finally:
        await renderer.close()


class _BrokenPool:
    """A pool whose child is always dead."""

    def submit(self, *args: Any) -> Any:
        raise BrokenProcessPool("gone")

    def shutdown(self, **kwargs: Any) -> None:
        pass


async def test_child_failing_twice_falls_back_to_a_thread(multiproc_dir, monkeypatch, caplog):
    renderer = MetricsRenderer(CollectorRegistry())
    monkeypatch.setattr(renderer, "_get_pool", _BrokenPool)
    with caplog.at_level(logging.WARNING, logger="boss.metrics"):
        body, _ = await renderer.render(None)
    assert ("demo_requests_total", frozenset({("route", "/a")})) in samples(body.decode())
    assert "rendering in a thread instead" in caplog.text


async def test_token_still_required(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    registry = CollectorRegistry()
    Counter("tok", "t", registry=registry).inc()
    app = Litestar([metrics_handler("/metrics", registry, "s3cret")])
    async with AsyncTestClient(app) as client:
        assert (await client.get("/metrics")).status_code == 401
        ok = await client.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert "tok_total 1.0" in ok.text


async def test_multiprocess_render_does_no_collection_in_the_serving_process(
    multiproc_dir, monkeypatch
):
    # Why the event loop no longer stalls: the GIL-heavy collection runs in the child only
    # (the bench measures the latency effect: docs/performance.md, scrape section).
    import boss.metrics_endpoint as endpoint

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("collected in the serving process")

    monkeypatch.setattr(endpoint, "MultiProcessCollector", forbidden)
    renderer = MetricsRenderer(CollectorRegistry())
    try:
        body, _ = await renderer.render(None)
    finally:
        await renderer.close()
    assert ("demo_requests_total", frozenset({("route", "/a")})) in samples(body.decode())
