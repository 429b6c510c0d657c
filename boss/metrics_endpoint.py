"""``/metrics``: the Prometheus exposition, generated without stalling the event loop.

Content negotiation gives OpenMetrics to scrapers that ask for it. In prometheus-client
multiprocess mode all data is in the workers' mmap files, so the exposition is rendered in
a one-worker child process: building 100k series holds a GIL for seconds, and that must not
be the serving worker's GIL (measured in ``docs/performance.md``). In single-process mode
the registry lives in this process, so it is rendered in a worker thread. Either way
concurrent scrapes share one render, and a body younger than ``RENDER_MAX_AGE`` is reused.
"""

from __future__ import annotations

import hmac
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import anyio
import anyio.to_thread
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from boss.runtime.workers import prune_dead_workers

__all__ = (
    "MULTIPROC_ENV",
    "RENDER_MAX_AGE",
    "MetricsRenderer",
    "exposition",
    "metrics_handler",
    "multiprocess_dir",
    "render_multiprocess",
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RENDER_MAX_AGE = 1.0
"""Seconds a finished multiprocess-mode render is reused for later scrapes of its content type.

Short against any scrape interval (15 s), long enough that a Prometheus HA pair or a
retrying scraper arriving together costs one render, not two. Multiprocess mode only: there
other workers' numbers are already up to a second late, while in one process a scrape right
after a request must see it (and a render is cheap at realistic sizes).
"""

logger = logging.getLogger("boss.metrics")


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus-client runs in multiprocess mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def render_multiprocess(path: str, accept: str) -> tuple[bytes, str]:
    """Render every worker's mmap files under ``path`` for ``accept`` (runs in the child).

    Dead workers' live-gauge files are dropped first, so their per-worker series vanish.
    """
    prune_dead_workers(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """Render ``registry`` (or every worker's files in multiprocess mode) for ``accept``."""
    path = multiprocess_dir()
    if path is not None:
        return render_multiprocess(path, accept or "")
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class _Flight:
    """One render in progress: followers wait on ``done`` and read its outcome."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: tuple[bytes, str] | None = None
        self.error: BaseException | None = None


class MetricsRenderer:
    """Renders the exposition off the event loop, one render per content type at a time.

    Multiprocess mode uses a lazily created one-worker ``spawn`` process pool (closed by
    ``close``, which the app runs on shutdown) and reuses a render younger than ``max_age``;
    if the child dies, the pool is recreated once and, if that fails too, the scrape is
    rendered in a thread. Single-process mode renders in a thread. ``renders`` counts
    renders actually started (coalesced and reused scrapes do not count).
    """

    def __init__(self, registry: CollectorRegistry, *, max_age: float = RENDER_MAX_AGE) -> None:
        self.registry = registry
        self.max_age = max_age
        self.renders = 0
        self._pool: ProcessPoolExecutor | None = None
        self._flights: dict[str, _Flight] = {}
        self._recent: dict[str, tuple[float, bytes, str]] = {}

    @property
    def pool(self) -> ProcessPoolExecutor | None:
        """The child-process pool, when one has been started and not closed."""
        return self._pool

    async def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition for ``accept``: shared with a render in flight, or a recent one."""
        accept = accept or ""
        _, key = choose_encoder(accept)
        while True:
            recent = self._recent.get(key) if multiprocess_dir() is not None else None
            if recent is not None and time.monotonic() - recent[0] < self.max_age:
                return recent[1], recent[2]
            flight = self._flights.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.result is not None:
                return flight.result
            # The leader was cancelled before it finished: render ourselves.
        flight = self._flights[key] = _Flight()
        try:
            self.renders += 1
            flight.result = await self._render_now(accept)
            self._recent[key] = (time.monotonic(), *flight.result)
            return flight.result
        except Exception as error:
            flight.error = error
            raise
        finally:
            del self._flights[key]
            flight.done.set()

    async def _render_now(self, accept: str) -> tuple[bytes, str]:
        path = multiprocess_dir()
        if path is None:
            return await anyio.to_thread.run_sync(exposition, self.registry, accept)
        for attempt in range(2):
            try:
                future = self._get_pool().submit(render_multiprocess, path, accept)
                return await anyio.to_thread.run_sync(_wait, future)
            except BrokenProcessPool:
                logger.warning(
                    "metrics render child process died (attempt %d); %s",
                    attempt + 1,
                    "recreating it" if attempt == 0 else "rendering in a thread instead",
                )
                await self._discard_pool()
        return await anyio.to_thread.run_sync(render_multiprocess, path, accept)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await anyio.to_thread.run_sync(_shutdown, pool)

    async def close(self) -> None:
        """Stop the child process, if one was started (the app's ``on_shutdown``)."""
        self._recent.clear()
        await self._discard_pool()


def _wait(future: Future[tuple[bytes, str]]) -> tuple[bytes, str]:
    return future.result()


def _shutdown(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(wait=True, cancel_futures=True)


def metrics_handler(
    path: str,
    registry: CollectorRegistry,
    token: str,
    *,
    before_render: Callable[[], None] | None = None,
    renderer: MetricsRenderer | None = None,
) -> HTTPRouteHandler:
    """A ``GET path`` handler serving ``registry``, requiring ``Bearer token`` when set.

    ``before_render`` runs on the event loop before every scrape's render (it flushes
    batched HTTP metrics into the registry). ``renderer`` defaults to a new
    ``MetricsRenderer``; pass one to close its child process on shutdown.
    """
    expected = f"Bearer {token}".encode() if token else b""
    renders = renderer if renderer is not None else MetricsRenderer(registry)

    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if expected:
            presented = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(presented, expected):
                raise NotAuthorizedException(
                    "This endpoint needs 'Authorization: Bearer <metrics token>'",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        if before_render is not None:
            before_render()
        body, content_type = await renders.render(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return get(path, include_in_schema=False, name="metrics")(metrics)
