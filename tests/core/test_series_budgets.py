"""Series budgets (fold past ``max_series``, count, log once) and zero-initialised counters,
in one process and in prometheus-client multiprocess mode."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from typing import Any, ClassVar

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, generate_latest

from boss import BossPlugin, MetricSpec, PluginContext
from boss.app import create_app
from boss.metrics_registry import (
    OVERFLOW_VALUE,
    SeriesBudgets,
    materialise,
    zero_initialise,
)
from boss.settings import load_settings
from tests.core.helpers import samples, value

pytestmark = pytest.mark.anyio
WEBHOOK = "https://discord.com/api/webhooks/1/secret-token"


class Shop(BossPlugin):
    """A plugin with one budgeted metric and run-time known label values."""

    name = "shop"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="shop_orders_total",
            kind="counter",
            help="Orders by customer and outcome.",
            labels=("customer", "outcome"),
            label_values={"outcome": ("ok", "refused")},
            max_series=4,
        ),
        MetricSpec(
            name="shop_visits_total",
            kind="counter",
            help="Visits by region (regions come from settings).",
            labels=("region", "kind"),
            label_values={"kind": ("new", "returning")},
            max_series=50,
        ),
    )

    def setup(self, context: PluginContext) -> None:
        super().setup(context)
        self.orders = context.metrics.counter("shop_orders_total")
        context.metrics.declare_label_values("shop_visits_total", "region", ("eu", "us"))


def test_a_metric_past_its_budget_folds_counts_and_logs_once(base_env, caplog) -> None:
    registry = CollectorRegistry()
    app_plugin = Shop()
    create_app(load_settings(base_env), plugins=[app_plugin], registry=registry)
    with caplog.at_level(logging.WARNING, logger="boss.metrics"):
        for customer in ("ana", "bo", "cy", "di", "ed", "fay"):
            app_plugin.orders.labels(customer, "ok").inc()
        app_plugin.orders.labels("ana", "ok").inc()  # an existing combination still counts
        app_plugin.orders.labels(customer="gus", outcome="refused").inc()  # keywords fold too
    text = generate_latest(registry).decode()
    assert value(text, "shop_orders_total", customer="ana", outcome="ok") == 2
    for customer in ("bo", "cy", "di"):
        assert value(text, "shop_orders_total", customer=customer, outcome="ok") == 1
    # the 5th and 6th customers fold into one series; bounded labels keep their value
    assert value(text, "shop_orders_total", customer=OVERFLOW_VALUE, outcome="ok") == 2
    assert value(text, "shop_orders_total", customer=OVERFLOW_VALUE, outcome="refused") == 1
    assert len([k for k in samples(text) if k[0] == "shop_orders_total"]) == 6
    assert value(text, "boss_metric_series_overflow_total", metric="shop_orders_total") == 3
    warnings = [r for r in caplog.records if "series budget" in r.getMessage()]
    assert len(warnings) == 1
    assert "shop_orders_total" in warnings[0].getMessage()


async def test_a_fresh_app_exports_bounded_counters_at_zero(base_env) -> None:
    env = {**base_env, "BOSS_DISCORD__WEBHOOKS__TASKS": WEBHOOK}
    app = create_app(load_settings(env), plugins=_installed(Shop()))
    async with AsyncTestClient(app) as client:
        text = (await client.get("/metrics")).text
    # a counter whose labels are all declared: every combination at 0
    for operation in ("parse", "create"):
        for status in ("ok", "bad_answer", "unavailable", "timeout", "error"):
            assert value(text, "ai_requests_total", operation=operation, status=status) == 0
    # run-time values a plugin declared in setup: Discord channels from settings
    for status in ("sent", "failed", "dropped", "unsent"):
        assert value(text, "discord_messages_sent_total", channel="tasks", status=status) == 0
    assert value(text, "shop_visits_total", region="us", kind="returning") == 0
    assert value(text, "tasks_completed_total", assignee="unassigned") == 0
    assert value(text, "boss_metric_series_overflow_total", metric="shop_orders_total") == 0
    # an open label (customer) is never guessed: no zero series for it
    assert not [k for k in samples(text) if k[0] == "shop_orders_total"]


def _installed(*extra: Any) -> list[Any]:
    from boss_ai import AIPlugin
    from boss_discord import DiscordPlugin
    from boss_tasks import TasksPlugin

    return [TasksPlugin(), AIPlugin(), DiscordPlugin(), *extra]


def test_zero_initialisation_is_capped() -> None:
    registry = CollectorRegistry()
    spec = MetricSpec(
        name="wide_total",
        kind="counter",
        help="x",
        labels=("a", "b"),
        label_values={"a": tuple(map(str, range(40))), "b": tuple(map(str, range(40)))},
    )
    handles = materialise("wide", (spec,), registry, SeriesBudgets())
    assert zero_initialise([handles], limit=1000) == 0
    assert zero_initialise([handles], limit=1600) == 1600


def test_declaring_values_for_an_unknown_label_is_an_error() -> None:
    handles = materialise("shop", Shop.metrics, CollectorRegistry())
    with pytest.raises(KeyError, match="has no label 'nope'"):
        handles.declare_label_values("shop_visits_total", "nope", ["x"])


MULTIPROCESS = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, os.getcwd())
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    from boss.app import create_app
    from boss.settings import load_settings
    from tests.core.test_series_budgets import Shop, _installed

    env = json.loads(sys.argv[1])
    registry = CollectorRegistry()
    shop = Shop()
    create_app(load_settings(env), plugins=_installed(shop), registry=registry)
    for customer in sys.argv[2].split(","):
        shop.orders.labels(customer, "ok").inc()
    merged = CollectorRegistry()
    MultiProcessCollector(merged)
    print(generate_latest(merged).decode())
    """
)


def test_budgets_and_zero_series_in_multiprocess_mode(base_env, tmp_path) -> None:
    """Two worker processes: zero series from start-up, each worker folds past its budget."""
    folder = tmp_path / "multiproc"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    settings = {**base_env, "BOSS_DISCORD__WEBHOOKS__TASKS": WEBHOOK}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = ""
    for customers in ("a,b,c,d,e", "f,g,h,i,j,k"):
        done = subprocess.run(
            [sys.executable, "-c", MULTIPROCESS, json.dumps(settings), customers],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        text = done.stdout
    assert value(text, "ai_requests_total", operation="parse", status="timeout") == 0
    assert value(text, "discord_messages_sent_total", channel="tasks", status="failed") == 0
    # per-process budget of 4: worker 1 folds e, worker 2 folds j and k
    assert value(text, "shop_orders_total", customer=OVERFLOW_VALUE, outcome="ok") == 3
    assert value(text, "shop_orders_total", customer="a", outcome="ok") == 1
    assert value(text, "shop_orders_total", customer="i", outcome="ok") == 1
    assert value(text, "boss_metric_series_overflow_total", metric="shop_orders_total") == 3
