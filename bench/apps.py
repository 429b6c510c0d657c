"""The benchmarked ASGI apps, as uvicorn factories (``uvicorn --factory bench.apps:NAME``).

Every app serves the same route (``GET /bench/tasks/{task_id}``) with the same JSON body, so
the only difference between them is the framework and its instrumentation.
"""

from __future__ import annotations

from typing import Any

from bench.bench_plugin import BENCH_PATH, BenchPlugin, bench_task, payload

__all__ = ("boss", "fastapi_instrumentator", "litestar_plain", "litestar_prometheus")


def boss() -> Any:
    """boss with only the core and the bench plugin; ``BOSS_*`` variables configure it."""
    from boss.app import create_app
    from boss.settings import load_settings

    return create_app(load_settings(), plugins=[BenchPlugin()])


def litestar_plain() -> Any:
    """Bare Litestar serving the bench route: the baseline every ratio is taken against."""
    from litestar import Litestar

    return Litestar(route_handlers=[bench_task])


def litestar_prometheus() -> Any:
    """Litestar with its built-in ``PrometheusMiddleware`` (``group_path=True``) and ``/metrics``."""
    from litestar import Litestar
    from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

    config = PrometheusConfig(group_path=True)
    return Litestar(
        route_handlers=[bench_task, PrometheusController], middleware=[config.middleware]
    )


def fastapi_instrumentator() -> Any:
    """FastAPI with prometheus-fastapi-instrumentator's default metrics and ``/metrics``."""
    from fastapi import FastAPI
    from prometheus_fastapi_instrumentator import Instrumentator

    app = FastAPI()

    @app.get(BENCH_PATH.replace(":int", ""))
    async def get_task(task_id: int) -> dict[str, Any]:
        return payload(task_id)

    Instrumentator().instrument(app).expose(app)
    return app
