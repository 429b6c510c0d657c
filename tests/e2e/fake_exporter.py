"""Another application in the same Prometheus: a ``/metrics`` that looks like boss's, failing.

It exposes the very metric names boss uses (``http_requests_total`` answering only 500,
slow ``http_request_duration_seconds``, an overflowing ``db_pool_connections``, Redis
errors), with counters growing on every scrape, under its own scrape job. Had the generated
rules not been scoped to boss's job, they would go pending on it within seconds.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._threaded import ThreadedFake

__all__ = ("FailingApp",)


def exposition(scrapes: int) -> bytes:
    """The text a failing app exposes at its ``scrapes``-th scrape."""
    n = 50 * scrapes
    route = 'method="GET",endpoint="/pay"'
    lines = [
        "# TYPE http_requests_total counter",
        f'http_requests_total{{{route},status="500"}} {n}',
        "# TYPE http_request_duration_seconds histogram",
        f'http_request_duration_seconds_bucket{{{route},le="2.0"}} 0',
        f'http_request_duration_seconds_bucket{{{route},le="+Inf"}} {n}',
        f"http_request_duration_seconds_sum{{{route}}} {5 * n}",
        f"http_request_duration_seconds_count{{{route}}} {n}",
        "# TYPE errors_total counter",
        f'errors_total{{type="RuntimeError",severity="error"}} {n}',
        "# TYPE db_pool_connections gauge",
        'db_pool_connections{state="overflow"} 20',
        "# TYPE redis_connection_errors_total counter",
        f"redis_connection_errors_total {scrapes * 10}",
    ]
    return ("\n".join(lines) + "\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """``/metrics`` (one more scrape each time); 404 for anything else."""
        owner: FailingApp = self.server.owner  # type: ignore[attr-defined]
        if self.path.split("?")[0] == "/metrics":
            body, status = exposition(owner.scraped()), 200
        else:
            body, status = b"Not found\n", 404
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FailingApp(ThreadedFake):
    """Start with ``start()`` (free port), read ``address``, stop with ``stop()``."""

    handler = _Handler
    thread_name = "failing-app"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.scrapes = 0

    def scraped(self) -> int:
        """Count one scrape and return the count."""
        with self._lock:
            self.scrapes += 1
            return self.scrapes

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` as a scrape target."""
        return self.origin.removeprefix("http://")
