"""HTTP instrumentation as a pure ASGI wrapper around the whole Litestar app.

It sits outside Litestar's router so that 404 and 405 answers are counted too, labels by
route template (never the raw path), and keeps the per-request cost to two dict look-ups,
one counter increment and one histogram observation on cached label children.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.metrics import MetricWrapperBase

__all__ = ("UNMATCHED", "HttpMetricsApp")

UNMATCHED = "<unmatched>"
"""The ``endpoint`` label of requests that matched no route (404, 405)."""
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Scope = dict[str, Any]
Receive = Any
Send = Any
ASGIApp = Any


class HttpMetricsApp:
    """Wrap ``app``; count ``http`` requests in ``requests`` and time them in ``duration``."""

    __slots__ = ("_app", "_children", "_duration", "_errors", "_requests", "_skip")

    def __init__(
        self,
        app: ASGIApp,
        *,
        requests: Counter,
        duration: Histogram,
        errors: Counter,
        skip_paths: frozenset[str] = frozenset(),
    ) -> None:
        self._app = app
        self._requests = requests
        self._duration = duration
        self._errors = errors
        self._skip = skip_paths
        self._children: dict[tuple[str, ...], MetricWrapperBase] = {}

    def __getattr__(self, name: str) -> Any:
        # Let callers reach the Litestar app's attributes (``app.state``, ``app.plugins``).
        return getattr(self._app, name)

    @property
    def app(self) -> ASGIApp:
        """The wrapped application."""
        return self._app

    def _child(self, metric: MetricWrapperBase, key: tuple[str, ...]) -> Any:
        child = self._children.get(key)
        if child is None:
            child = metric.labels(*key[1:])
            self._children[key] = child
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._skip:
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
            endpoint = scope.get("path_template") or UNMATCHED
            self._child(self._requests, ("r", method, endpoint, str(status))).inc()
            self._child(self._duration, ("d", method, endpoint)).observe(elapsed)
