"""A stand-in for Grafana's own ``/metrics`` (and ``/api/health``) on 127.0.0.1.

No Grafana server can be installed on this machine kind, yet the generated
``prometheus.yml`` scrapes Grafana. This server answers that scrape the way Grafana does
(Prometheus text exposition with ``grafana_build_info``), so the ``grafana`` job's scrape
config is exercised and every target can be required to be up.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._threaded import ThreadedFake

__all__ = ("FakeGrafana",)

EXPOSITION = (
    b"# HELP grafana_build_info A metric with a constant '1' value labeled by version.\n"
    b"# TYPE grafana_build_info gauge\n"
    b'grafana_build_info{edition="oss",version="11.6.0"} 1\n'
)
HEALTH = b'{"database":"ok","version":"11.6.0"}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """``/metrics`` and ``/api/health``; 404 for anything else."""
        if self.path.split("?")[0] == "/metrics":
            body, kind, status = EXPOSITION, "text/plain; version=0.0.4", 200
        elif self.path == "/api/health":
            body, kind, status = HEALTH, "application/json", 200
        else:
            body, kind, status = b"Not found\n", "text/plain", 404
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeGrafana(ThreadedFake):
    """Start with ``start()`` (free port), read ``address``, stop with ``stop()``."""

    handler = _Handler
    thread_name = "fake-grafana"

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` as a scrape target."""
        return self.origin.removeprefix("http://")
