"""Discord with the real tasks plugin on PostgreSQL: the task API's own events become embeds."""

from __future__ import annotations

import anyio
import pytest
from boss_discord import DiscordPlugin
from boss_tasks import TasksPlugin
from prometheus_client import CollectorRegistry

from boss.app import create_app
from boss.settings import load_settings
from tests.ai.test_ai_api import running
from tests.conftest import MEMBER
from tests.fakes.discord_server import DiscordServer

pytestmark = pytest.mark.anyio


async def test_created_blocked_completed_reach_discord(base_env, pg_tasks):
    registry = CollectorRegistry()
    with DiscordServer() as discord:
        env = {
            **base_env,
            "BOSS_DATABASE__URL": pg_tasks,
            "BOSS_RATE_LIMIT__ENABLED": "false",
            "BOSS_DISCORD__WEBHOOKS__TASKS": discord.webhook_url("tasks"),
        }
        app = create_app(
            load_settings(env), plugins=[TasksPlugin(), DiscordPlugin()], registry=registry
        )
        async with running(app, registry) as client:
            created = await client.post(
                "/api/db/tasks",
                json={"title": "Rotate the API keys", "assignee": "ana", "priority": "high"},
                headers=MEMBER,
            )
            assert created.status_code == 201, created.text
            task = created.json()
            version = task["version"]
            for status, note in (
                ("in_progress", ""),
                ("blocked", "waiting for the vault admin"),
                ("in_progress", ""),
                ("completed", "all keys rotated"),
            ):
                moved = await client.post(
                    f"/api/db/tasks/{task['id']}/status",
                    json={"status": status, "note": note, "version": version},
                    headers=MEMBER,
                )
                assert moved.status_code == 200, moved.text
                version = moved.json()["version"]
            assert await anyio.to_thread.run_sync(lambda: discord.wait_for(3, timeout=10))
    titles = [m["embeds"][0]["title"] for m in discord.messages_for("tasks")]
    assert titles == [
        "New task: Rotate the API keys",
        "Task blocked: Rotate the API keys",
        "Task completed: Rotate the API keys",
    ]
    blocked, completed = (m["embeds"][0] for m in discord.messages_for("tasks")[1:])
    assert blocked["description"] == "Reason: waiting for the vault admin"
    assert completed["description"] == "all keys rotated"
    assert blocked["footer"]["text"] == f"Task {task['id']} · blocked by bob"
    assert (
        registry.get_sample_value(
            "discord_messages_sent_total", {"channel": "tasks", "status": "sent"}
        )
        == 3
    )
