"""Small helpers for core tests: a demo plugin with routes, /metrics parsing, and installing a
plugin distribution into a folder of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from litestar import get, post
from litestar.config.app import AppConfig
from litestar.params import FromPath, JSONBody
from prometheus_client.parser import text_string_to_metric_families

from boss import BossPlugin, MetricSpec, PluginContext
from boss.auth import require_admin


class Item(msgspec.Struct, forbid_unknown_fields=True):
    """A request body with constraints, to see validation errors name fields."""

    title: str = msgspec.field()
    count: int = 0


class DemoPlugin(BossPlugin):
    """Routes that answer, raise, validate and need the admin role."""

    name = "demo"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="demo_things_total",
            kind="counter",
            help="Things done.",
            labels=("kind",),
            max_series=50,
        ),
    )

    def setup(self, context: PluginContext) -> None:
        super().setup(context)
        self.things = context.metrics.counter("demo_things_total")

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        things = self.things

        @get("/api/db/tasks/{task_id:str}", sync_to_thread=False)
        def task(task_id: FromPath[str]) -> dict[str, Any]:
            things.labels("get").inc()
            return {"id": task_id}

        @get("/api/boom", sync_to_thread=False)
        def boom() -> None:
            raise RuntimeError("kaboom with secret internals")

        @post("/api/items", sync_to_thread=False)
        def create(data: JSONBody[Item]) -> Item:
            return data

        @post("/api/admin/thing", guards=[require_admin], sync_to_thread=False)
        def admin_only() -> dict[str, str]:
            return {"ok": "yes"}

        @get("/open/ping", sync_to_thread=False)
        def open_ping() -> str:
            return "pong"

        app_config.route_handlers += [task, boom, create, admin_only, open_ping]
        return app_config


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition keyed by (name, labels)."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0.0 when absent)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def series_count(text: str) -> int:
    """How many series an exposition holds."""
    return len(samples(text))


def pip_install_into(source: Path, target: Path) -> None:
    """pip-install the distribution at ``source`` into ``target`` only (no dependencies), so a
    test can put it on ``PYTHONPATH`` without touching the shared virtualenv."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
