"""A prototype of off-process ``/metrics`` rendering for multiprocess mode, for measurement.

Not used by boss. With ``BOSS_BENCH__OFFLOAD_SCRAPE=true`` the bench plugin swaps
``boss.metrics_endpoint.exposition`` for one that renders the multiprocess files in a
one-worker process pool: the serving worker's thread only waits (without the GIL) for the
bytes, so the event loop keeps serving while a large exposition is built.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ("install",)

_POOL: ProcessPoolExecutor | None = None


def _render(path: str, accept: str) -> tuple[bytes, str]:
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def install() -> None:
    """Route multiprocess-mode renders through a child process (single process: unchanged)."""
    global _POOL
    from boss import metrics_endpoint

    original = metrics_endpoint.exposition
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    pool = _POOL

    def exposition(registry: Any, accept: str | None) -> tuple[bytes, str]:
        path = metrics_endpoint.multiprocess_dir()
        if path is None:
            return original(registry, accept)
        return pool.submit(_render, path, accept or "").result()

    metrics_endpoint.exposition = exposition
