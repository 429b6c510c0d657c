"""The lifecycle both fake services share: an HTTP server on 127.0.0.1 in a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ("OwnedServer", "ThreadedFake")


class OwnedServer(ThreadingHTTPServer):
    """A threading HTTP server whose handlers reach the fake through ``server.owner``."""

    daemon_threads = True
    owner: Any


class ThreadedFake:
    """Start, stop and address a fake; subclasses give the handler class and a thread name."""

    handler: type[BaseHTTPRequestHandler]
    thread_name = "fake-http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._httpd: OwnedServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        """Set on ``stop`` so hanging or delayed answers give up."""

    def start(self) -> Self:
        """Bind a free port (unless one was given) and serve in a daemon thread."""
        httpd = OwnedServer((self._host, self._port), self.handler)
        httpd.owner = self
        self._httpd = httpd
        self.stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release waiting requests and stop serving."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"
