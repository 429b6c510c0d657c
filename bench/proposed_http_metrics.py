"""A prototype of cheaper HTTP instrumentation, measured next to ``boss.http_metrics``.

Not used by boss: the benchmark runs it in process to show what the proposed change in
``boss/http_metrics.py`` saves. Per request it only adds to plain Python numbers (one dict
look-up, two additions, one ``bisect``); ``flush`` moves the totals into the prometheus
children (the ``/metrics`` handler would call it before rendering, and a 1 s task in each
worker keeps multiprocess files at most a second behind).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any

__all__ = ("BatchedHttpMetricsApp",)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class BatchedHttpMetricsApp:
    """Like ``boss.http_metrics.HttpMetricsApp`` but accumulating between flushes."""

    __slots__ = ("_app", "_bounds", "_duration", "_errors", "_pending", "_requests")

    def __init__(self, app: Any, *, requests: Any, duration: Any, errors: Any) -> None:
        self._app = app
        self._requests = requests
        self._duration = duration
        self._errors = errors
        self._bounds = [b for b in duration._upper_bounds if b != float("inf")]
        self._pending: dict[tuple[str, str, int], list[float]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve the request and add its status and duration to the pending totals."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500
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
            elapsed = time.perf_counter() - started
            method = scope["method"]
            if method not in _METHODS:
                method = "OTHER"
            key = (method, scope.get("path_template") or "<unmatched>", status)
            totals = self._pending.get(key)
            if totals is None:
                totals = self._pending[key] = [0.0] * (len(self._bounds) + 3)
            totals[0] += 1
            totals[1] += elapsed
            totals[2 + bisect_left(self._bounds, elapsed)] += 1

    def flush(self) -> None:
        """Move the pending totals into the prometheus-client children."""
        pending, self._pending = self._pending, {}
        for (method, endpoint, status), totals in pending.items():
            self._requests.labels(method, endpoint, str(status)).inc(totals[0])
            child = self._duration.labels(method, endpoint)
            child._sum.inc(totals[1])
            for index, count in enumerate(totals[2:]):
                if count:
                    child._buckets[index].inc(count)
