"""Each worker's own runtime sampling: event-loop lag, process, GC and in-flight gauges.

One asyncio task per worker wakes every ``tick`` seconds: how late it wakes is the loop lag
(observed into a histogram), and every ``sample_every`` seconds it also copies the process,
GC and in-flight numbers into the worker's gauges. That keeps all collection off the request
path and works in prometheus-client multiprocess mode, where the scraping worker cannot run
collectors on behalf of the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Callable
from typing import Any

from boss.metrics_registry import MetricHandles
from boss.runtime.process import ProcessReader

__all__ = ("LOOP_TICK", "SAMPLE_EVERY", "RuntimeSampler")

LOOP_TICK = 0.5
"""Seconds between loop-lag timer ticks (two cheap observations a second)."""
SAMPLE_EVERY = 5.0
"""Seconds between samples of process and GC numbers (a few ``/proc`` reads each)."""

logger = logging.getLogger("boss.runtime")

_PROCESS_GAUGES = (
    ("process_resident_memory_bytes", "resident_memory_bytes"),
    ("process_virtual_memory_bytes", "virtual_memory_bytes"),
    ("process_cpu_seconds_total", "cpu_seconds"),
    ("process_start_time_seconds", "start_time_seconds"),
    ("process_open_fds", "open_fds"),
    ("process_max_fds", "max_fds"),
)
_GC_GAUGES = (
    ("python_gc_collections_total", "collections"),
    ("python_gc_objects_collected_total", "collected"),
    ("python_gc_objects_uncollectable_total", "uncollectable"),
)


class RuntimeSampler:
    """Samples this worker's runtime numbers into the core's gauges and times its event loop.

    ``in_flight`` returns the number of requests being answered (the HTTP wrapper's count).
    ``start`` and ``stop`` are the app's start-up and shutdown hooks; ``sample`` may also be
    called directly (``/metrics`` does, right before it renders).
    """

    def __init__(
        self,
        handles: MetricHandles,
        *,
        in_flight: Callable[[], int] | None = None,
        reader: ProcessReader | None = None,
        tick: float = LOOP_TICK,
        sample_every: float = SAMPLE_EVERY,
    ) -> None:
        self._handles = handles
        self._in_flight = in_flight
        self._reader = reader if reader is not None else ProcessReader()
        self._lag = handles.histogram("boss_event_loop_lag_seconds")
        self.tick = tick
        self.sample_every = sample_every
        self._children: dict[tuple[str, ...], Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    def _gauge(self, name: str, *labels: str) -> Any:
        key = (name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._handles.gauge(name).labels(*labels)
        return child

    def sample_in_flight(self) -> None:
        """Copy the in-flight request count into this worker's gauge."""
        if self._in_flight is not None:
            self._gauge("boss_http_requests_in_flight", str(os.getpid())).set(self._in_flight())

    def sample(self) -> None:
        """Copy this worker's process, GC and in-flight numbers into its gauges."""
        worker = str(os.getpid())
        stats = self._reader.read()
        if stats is not None:
            for metric, field in _PROCESS_GAUGES:
                number = getattr(stats, field)
                if number is not None:
                    self._gauge(metric, worker).set(number)
        for generation, stat in enumerate(gc.get_stats()):
            for metric, key in _GC_GAUGES:
                self._gauge(metric, worker, str(generation)).set(stat[key])
        self.sample_in_flight()

    async def run(self) -> None:
        """Time the loop forever: observe each tick's lateness, sample every few seconds."""
        loop = asyncio.get_running_loop()
        next_sample = loop.time()
        while True:
            due = loop.time() + self.tick
            await asyncio.sleep(self.tick)
            now = loop.time()
            self._lag.observe(now - due if now > due else 0.0)
            try:
                if now >= next_sample:
                    next_sample = now + self.sample_every
                    self.sample()
                else:
                    self.sample_in_flight()
            except Exception:  # a broken /proc must not stop the loop-lag timer
                if not self._failed:
                    logger.exception("runtime metrics sampling failed; the loop timer goes on")
                    self._failed = True

    async def start(self) -> None:
        """Start the sampling task in this worker (the app's ``on_startup``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name="boss-runtime-sampler"
            )

    async def stop(self) -> None:
        """Stop sampling; in multiprocess mode also drop this worker's live gauge files."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        from boss.metrics_endpoint import multiprocess_dir

        path = multiprocess_dir()
        if path is not None:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]
