"""The Discord plugin in a real app: task events become embeds, the test alert, shutdown
draining, the bounded queue, readiness and keeping webhook URLs secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import anyio
import pytest
from boss_discord import DiscordPlugin
from click.testing import CliRunner
from litestar import Request, post
from litestar.config.app import AppConfig
from litestar.params import FromPath, JSONBody
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry

from boss import BossPlugin
from boss.app import create_app
from boss.settings import SettingsError, load_settings
from tests.conftest import ADMIN, MEMBER
from tests.fakes.discord_server import DiscordServer, Reply

pytestmark = pytest.mark.anyio


DEADLINE = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)
DEADLINE_TS = int(DEADLINE.timestamp())


@dataclass
class FakeTask:
    """Shaped like the tasks plugin's Task (the Discord plugin reads attributes only)."""

    id: str = "TASK-7"
    title: str = "Fix the login bug"
    description: str = "Safari users cannot log in."
    assignee: str | None = "ana"
    priority: str = "urgent"
    deadline: datetime | None = DEADLINE
    status: str = "todo"
    created_at: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    updated_at: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


class EmitterPlugin(BossPlugin):
    """Emits task events from a route, the way the tasks plugin does after a change."""

    name = "emitter"
    events: ClassVar[dict[str, dict[str, Any]]] = {}

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        @post("/api/test/emit/{event:str}", status_code=202)
        async def emit(
            event: FromPath[str], request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
        ) -> None:
            task = FakeTask(**data.get("task", {}))
            extra = {k: v for k, v in data.items() if k != "task"}
            request.app.emit(event, task=task, actor="ana", **extra)

        app_config.route_handlers.append(emit)
        return app_config


@pytest.fixture
def discord() -> Iterator[DiscordServer]:
    with DiscordServer() as server:
        yield server


def make_app(base_env, discord: DiscordServer | None, registry: CollectorRegistry, **env: str):
    environ = {**base_env, "BOSS_DISCORD__BACKOFF_BASE": "0.01", "BOSS_DISCORD__DRAIN_TIMEOUT": "5"}
    if discord is not None:
        environ["BOSS_DISCORD__WEBHOOKS__TASKS"] = discord.webhook_url("tasks")
        environ["BOSS_DISCORD__WEBHOOKS__ALERTS"] = discord.webhook_url("alerts")
    environ.update({f"BOSS_DISCORD__{k.upper()}": v for k, v in env.items()})
    plugin = DiscordPlugin()
    app = create_app(load_settings(environ), plugins=[plugin, EmitterPlugin()], registry=registry)
    return app, plugin


def sent(registry: CollectorRegistry, channel: str, status: str) -> float:
    return (
        registry.get_sample_value(
            "discord_messages_sent_total", {"channel": channel, "status": status}
        )
        or 0.0
    )


async def wait_for(discord: DiscordServer, messages: int = 0, requests: int = 0) -> None:
    assert await anyio.to_thread.run_sync(
        lambda: discord.wait_for(messages, requests=requests, timeout=10)
    )


async def test_task_events_become_readable_embeds(base_env, discord):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    async with AsyncTestClient(app) as client:
        for event, body in (
            ("task.created", {}),
            ("task.status_changed", {"old_status": "todo", "new_status": "in_progress"}),
            (
                "task.status_changed",
                {"old_status": "in_progress", "new_status": "blocked", "note": "waiting on Bob"},
            ),
            (
                "task.status_changed",
                {"old_status": "blocked", "new_status": "done", "task": {"status": "done"}},
            ),
        ):
            response = await client.post(f"/api/test/emit/{event}", json=body, headers=MEMBER)
            assert response.status_code == 202
        await wait_for(discord, 3)
    created, blocked, completed = (m["embeds"][0] for m in discord.messages_for("tasks"))
    assert created["title"] == "New task: Fix the login bug"
    assert created["description"] == "Safari users cannot log in."
    assert {f["name"]: f["value"] for f in created["fields"]} == {
        "Assignee": "ana",
        "Priority": "urgent",
        "Deadline": f"<t:{DEADLINE_TS}:f> (<t:{DEADLINE_TS}:R>)",
    }
    assert created["footer"]["text"] == "Task TASK-7 · created by ana"
    assert created["timestamp"] == "2026-11-26T12:00:00+00:00"
    assert blocked["title"] == "Task blocked: Fix the login bug"
    assert blocked["description"] == "Reason: waiting on Bob"
    assert completed["title"] == "Task completed: Fix the login bug"
    assert {f["name"]: f["value"] for f in completed["fields"]}["Completed by"] == "ana"
    assert all(m["allowed_mentions"] == {"parse": []} for m in discord.messages_for("tasks"))
    assert discord.messages_for("alerts") == []
    assert sent(registry, "tasks", "sent") == 3


async def test_long_titles_are_cut_to_discord_limits(base_env, discord):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    async with AsyncTestClient(app) as client:
        task = {"title": "t" * 400, "description": "d" * 5000, "assignee": None}
        await client.post("/api/test/emit/task.created", json={"task": task}, headers=MEMBER)
        await wait_for(discord, 1)
    embed = discord.messages_for("tasks")[0]["embeds"][0]
    assert len(embed["title"]) == 256
    assert embed["title"].endswith("…")
    assert {f["name"]: f["value"] for f in embed["fields"]}["Assignee"] == "unassigned"


async def test_test_alert_needs_admin_and_reports_delivery(base_env, discord):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    discord.script(Reply.rate_limited(0.05), webhook="alerts")
    async with AsyncTestClient(app) as client:
        member = await client.post("/api/admin/test-alert", headers=MEMBER)
        admin = await client.post("/api/admin/test-alert", headers=ADMIN)
    assert member.status_code == 403
    assert admin.status_code == 200
    assert admin.json() == {"channel": "alerts", "status": "sent", "attempts": 2, "detail": ""}
    (message,) = discord.messages_for("alerts")
    assert message["embeds"][0]["title"] == "Test alert from boss"
    assert {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}["Requested by"] == "ana"
    assert sent(registry, "alerts", "sent") == 1


async def test_test_alert_to_deleted_webhook_is_a_502_without_the_url(base_env, discord):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    discord.delete_webhook("alerts")
    async with AsyncTestClient(app) as client:
        response = await client.post("/api/admin/test-alert", headers=ADMIN)
    assert response.status_code == 502
    body = response.json()
    assert body["status"] == 502
    assert (body["channel"], body["delivery"], body["attempts"]) == ("alerts", "failed", 1)
    assert "Unknown Webhook" in body["detail"]
    assert "secret" not in response.text
    assert "/webhooks/" not in response.text
    assert sent(registry, "alerts", "failed") == 1


async def test_without_webhooks_the_plugin_loads_sends_nothing_and_says_so(base_env):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, None, registry)
    async with AsyncTestClient(app) as client:
        emitted = await client.post("/api/test/emit/task.created", json={}, headers=MEMBER)
        alert = await client.post("/api/admin/test-alert", headers=ADMIN)
        ready = await client.get("/health/ready", headers=ADMIN)
    assert emitted.status_code == 202
    assert alert.status_code == 409  # a configuration state, not a server error
    assert alert.json()["type"] == "/problems/not-configured"
    assert alert.json()["setting"] == "BOSS_DISCORD__WEBHOOKS__ALERTS"
    assert "BOSS_DISCORD__WEBHOOKS__ALERTS" in alert.json()["detail"]
    assert ready.status_code == 200, ready.text
    assert "discord" in ready.json()["ok"]
    assert ready.json()["details"]["discord"] == "no webhook configured"


async def test_readiness_names_channels_and_queue(base_env, discord):
    app, _ = make_app(base_env, discord, CollectorRegistry())
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready", headers=ADMIN)
    assert ready.json()["details"]["discord"] == "channels: alerts, tasks; queued 0/1000"


async def test_retries_server_errors_then_delivers(base_env, discord):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    discord.script(Reply.server_error(500), Reply.server_error(502), webhook="tasks")
    async with AsyncTestClient(app) as client:
        await client.post("/api/test/emit/task.created", json={}, headers=MEMBER)
        await wait_for(discord, 1)
    assert [r.status for r in discord.requests] == [500, 502, 204]
    assert sent(registry, "tasks", "sent") == 1
    assert sent(registry, "tasks", "failed") == 0


async def test_shutdown_drains_within_timeout_and_counts_the_rest(base_env, discord, caplog):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry, drain_timeout="0.3")
    discord.script(Reply.ok(), Reply.ok(), Reply.hanging(), webhook="tasks")
    caplog.set_level(logging.WARNING, logger="boss.discord")
    async with AsyncTestClient(app) as client:
        for _ in range(5):
            await client.post("/api/test/emit/task.created", json={}, headers=MEMBER)
        await wait_for(discord, 2, requests=3)
    assert sent(registry, "tasks", "sent") == 2
    assert sent(registry, "tasks", "unsent") == 3
    assert "3 message(s) not sent at shutdown" in caplog.text
    assert "tasks: 3" in caplog.text


async def test_full_queue_drops_and_counts(base_env, discord, caplog):
    registry = CollectorRegistry()
    app, plugin = make_app(base_env, discord, registry, queue_size="2", drain_timeout="0")
    discord.script(Reply.hanging(), webhook="tasks")
    async with AsyncTestClient(app) as client:
        dispatcher = plugin.dispatcher
        assert dispatcher is not None
        # the app runs in the test client's portal thread: submit on its event loop
        client.blocking_portal.call(dispatcher.submit, "tasks", {"content": "first"})
        await wait_for(discord, requests=1)  # the worker holds the first one
        results = [
            client.blocking_portal.call(dispatcher.submit, "tasks", {"content": str(n)})
            for n in range(5)
        ]
    assert [r.status if r else "queued" for r in results] == [
        "queued",
        "queued",
        "dropped",
        "dropped",
        "dropped",
    ]
    assert sent(registry, "tasks", "dropped") == 3
    assert sent(registry, "tasks", "unsent") == 3  # the one in flight and the two queued
    assert "queue full" in caplog.text


async def test_webhook_urls_stay_out_of_logs_metrics_and_config(base_env, discord, caplog):
    registry = CollectorRegistry()
    app, _ = make_app(base_env, discord, registry)
    caplog.set_level(logging.DEBUG)
    discord.script(Reply.not_found(), webhook="tasks")
    async with AsyncTestClient(app) as client:
        await client.post("/api/test/emit/task.created", json={}, headers=MEMBER)
        await client.post("/api/admin/test-alert", headers=ADMIN)
        await wait_for(discord, 1, requests=2)
        metrics = await client.get("/metrics")
    assert "HTTP Request: POST" in caplog.text  # httpx did log the requests …
    assert "/api/webhooks/***" in caplog.text  # … with the token masked
    for secret in ("secret-tasks-token", "secret-alerts-token"):
        assert secret not in caplog.text
        assert secret not in metrics.text
    from boss.cli._main import cli

    env = {**base_env, "BOSS_DISCORD__WEBHOOKS__TASKS": discord.webhook_url("tasks")}
    result = CliRunner().invoke(cli, ["config", "show"], env=env)
    assert result.exit_code == 0, result.output
    assert "secret-tasks-token" not in result.output
    assert "tasks: '***'" in result.output


def test_bad_webhook_url_names_the_variable_not_the_value(base_env):
    env = {**base_env, "BOSS_DISCORD__WEBHOOKS__TASKS": "not-a-url-secret-token"}
    with pytest.raises(SettingsError) as info:
        create_app(load_settings(env), plugins=[DiscordPlugin()])
    assert "BOSS_DISCORD__WEBHOOKS__TASKS" in str(info.value)
    assert "secret-token" not in str(info.value)
