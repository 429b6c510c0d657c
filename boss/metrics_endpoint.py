"""``/metrics``: the Prometheus exposition, generated off the event loop.

Content negotiation gives OpenMetrics to scrapers that ask for it. In prometheus-client
multiprocess mode every scrape aggregates all workers' files through a fresh registry.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ("MULTIPROC_ENV", "exposition", "metrics_handler", "multiprocess_dir")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus-client runs in multiprocess mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """Render ``registry`` (or every worker's files in multiprocess mode) for ``accept``."""
    path = multiprocess_dir()
    if path is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def metrics_handler(path: str, registry: CollectorRegistry, token: str) -> HTTPRouteHandler:
    """A ``GET path`` handler serving ``registry``, requiring ``Bearer token`` when set."""
    expected = f"Bearer {token}".encode() if token else b""

    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if expected:
            presented = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(presented, expected):
                raise NotAuthorizedException(
                    "This endpoint needs 'Authorization: Bearer <metrics token>'",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        body, content_type = await anyio.to_thread.run_sync(
            exposition, registry, request.headers.get("accept")
        )
        return Response(body, media_type=content_type)

    return get(path, include_in_schema=False, name="metrics")(metrics)
