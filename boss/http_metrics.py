"""HTTP instrumentation as a pure ASGI wrapper around the whole Litestar app.

It sits outside Litestar's router so that 404 and 405 answers are counted too, and labels
by route template (never the raw path). Per request it records into an ``HttpRecorder``:
in a single process that is one dict look-up and a few float additions, and the totals
move into the prometheus-client objects when ``/metrics`` is rendered (``flush``); in
multiprocess mode, where other workers' scrapes cannot flush this one, it observes directly.
The recorder also counts requests in flight as a plain integer; the runtime sampler copies
it into a gauge off the request path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

__all__ = ("UNMATCHED", "HttpMetricsApp", "HttpRecorder")

UNMATCHED = "<unmatched>"
"""The ``endpoint`` label of requests that matched no route (404, 405)."""
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Scope = dict[str, Any]
Receive = Any
Send = Any
ASGIApp = Any
_Key = tuple[str, str, int]


class HttpRecorder:
    """Where request counts and durations go: batched until ``flush``, or straight through.

    Batching keeps the per-request cost to plain Python arithmetic (no lock, no
    prometheus-client call) and is exact as long as every reader flushes first, which
    ``/metrics`` does. It adds to the histogram child's sum and bucket values directly,
    the way ``Histogram.observe`` does; ``tests/core/test_http_metrics.py`` proves that
    both paths expose the same samples, so a prometheus-client upgrade that changed those
    internals fails the suite instead of miscounting.
    """

    __slots__ = (
        "_batched",
        "_bounds",
        "_children",
        "_duration",
        "_pending",
        "_requests",
        "in_flight",
    )

    def __init__(self, requests: Counter, duration: Histogram, *, batched: bool) -> None:
        self._requests = requests
        self._duration = duration
        bounds: list[float] = list(getattr(duration, "_upper_bounds", ()))
        self._batched = batched and bool(bounds)
        self._bounds = bounds
        self._pending: dict[_Key, list[float]] = {}
        self._children: dict[tuple[str, ...], Any] = {}
        self.in_flight = 0
        """Requests the wrapper has started and not yet finished (this process only)."""

    @property
    def batched(self) -> bool:
        """Whether records wait for ``flush`` (single process) or go straight through."""
        return self._batched

    def _child(self, metric: Any, kind: str, *labels: str) -> Any:
        key = (kind, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def record(self, method: str, endpoint: str, status: int, elapsed: float) -> None:
        """Count one answered request and its duration."""
        if not self._batched:
            self._child(self._requests, "r", method, endpoint, str(status)).inc()
            self._child(self._duration, "d", method, endpoint).observe(elapsed)
            return
        key = (method, endpoint, status)
        totals = self._pending.get(key)
        if totals is None:
            totals = self._pending[key] = [0.0] * (len(self._bounds) + 2)
        totals[0] += 1
        totals[1] += elapsed
        totals[2 + bisect_left(self._bounds, elapsed)] += 1

    def flush(self) -> None:
        """Move the pending totals into the prometheus-client children (call on the loop)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for (method, endpoint, status), totals in pending.items():
            self._child(self._requests, "r", method, endpoint, str(status)).inc(totals[0])
            child = self._child(self._duration, "d", method, endpoint)
            child._sum.inc(totals[1])
            for index, count in enumerate(totals[2:]):
                if count:
                    child._buckets[index].inc(count)


class HttpMetricsApp:
    """Wrap ``app``; record every ``http`` request's status and duration in ``recorder``."""

    __slots__ = ("_app", "_errors", "_recorder", "_skip")

    def __init__(
        self,
        app: ASGIApp,
        *,
        recorder: HttpRecorder,
        errors: Counter,
        skip_paths: frozenset[str] = frozenset(),
    ) -> None:
        self._app = app
        self._recorder = recorder
        self._errors = errors
        self._skip = skip_paths

    def __getattr__(self, name: str) -> Any:
        # Let callers reach the Litestar app's attributes (``app.state``, ``app.plugins``).
        return getattr(self._app, name)

    @property
    def app(self) -> ASGIApp:
        """The wrapped application."""
        return self._app

    @property
    def recorder(self) -> HttpRecorder:
        """Where this wrapper records requests."""
        return self._recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._skip:
            await self._app(scope, receive, send)
            return
        status = 500
        recorder = self._recorder
        recorder.in_flight += 1
        started = time.perf_counter()

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        except BaseException as exc:
            status = 500
            self._errors.labels(type(exc).__name__, "critical").inc()
            raise
        finally:
            recorder.in_flight -= 1
            method = scope["method"]
            recorder.record(
                method if method in _METHODS else "OTHER",
                scope.get("path_template") or UNMATCHED,
                status,
                time.perf_counter() - started,
            )
