"""Runtime metrics of every worker: process, Python GC, event-loop lag, in-flight, build info."""

from __future__ import annotations

from boss.runtime.info import record_build_info
from boss.runtime.process import ProcessReader, ProcessStats
from boss.runtime.sampler import RuntimeSampler
from boss.runtime.workers import prune_dead_workers

__all__ = (
    "ProcessReader",
    "ProcessStats",
    "RuntimeSampler",
    "prune_dead_workers",
    "record_build_info",
)
