"""A tiny boss plugin for the benchmarks: the task-shaped route and synthetic series.

It goes through the ordinary plugin contract, so the instrumented route is served exactly
like a real plugin's route; ``BOSS_BENCH__SERIES=N`` pre-creates ``N`` counter series so
that ``/metrics`` can be measured at realistic and extreme sizes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import get
from litestar.config.app import AppConfig

from boss import BossPlugin, MetricSpec, PluginContext

__all__ = ("BENCH_PATH", "PAYLOAD", "BenchPlugin", "BenchSettings", "payload")

BENCH_PATH = "/bench/tasks/{task_id:int}"
"""The benchmarked route: shaped like ``/api/db/tasks/{task_id}`` but outside ``/api/``."""

PAYLOAD: dict[str, Any] = {
    "title": "Write the quarterly report",
    "status": "in_progress",
    "priority": "high",
    "assignee": "alice",
    "deadline": "2026-12-01T17:00:00Z",
}


def payload(task_id: int) -> dict[str, Any]:
    """The small JSON body every benchmarked app answers with (same bytes in every app)."""
    return {"id": task_id, **PAYLOAD}


@get(BENCH_PATH)
async def bench_task(task_id: int) -> dict[str, Any]:
    """Return the fixed task payload for ``task_id``."""
    return payload(task_id)


class BenchSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``BOSS_BENCH__*``: how many synthetic series to create at start."""

    series: int = 0


class BenchPlugin(BossPlugin):
    """Serves the benchmark route and, on request, a large synthetic metric set."""

    name = "bench"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="bench_synthetic_total",
            kind="counter",
            help="Synthetic series that make /metrics large for the scrape benchmark.",
            labels=("shard", "item"),
            max_series=10_000_000,  # the scrape benchmark makes up to a million series
        ),
    )
    settings_type = BenchSettings

    def setup(self, context: PluginContext) -> None:
        """Create ``series`` synthetic counter children, each incremented once."""
        super().setup(context)
        config: BenchSettings = context.config
        counter = context.metrics.counter("bench_synthetic_total")
        for index in range(config.series):
            counter.labels(str(index % 100), f"item-{index}").inc()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the benchmark route."""
        app_config.route_handlers.append(bench_task)
        return app_config
