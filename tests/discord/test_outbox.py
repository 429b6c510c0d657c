"""Task notifications through the transactional outbox, on real PostgreSQL and SQLite:
staged with the change, coalesced under bursts, 429/5xx survived, nothing lost across a
restart, every event counted exactly once even with two apps draining one database."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from boss_discord import DiscordPlugin
from boss_tasks import TasksPlugin
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry

from boss.app import create_app
from boss.database import Database
from boss.settings import load_settings
from tests.conftest import MEMBER, migrated_database
from tests.fakes.discord_server import DiscordServer, Reply

pytestmark = pytest.mark.anyio

STATUSES = ("sent", "coalesced", "failed", "dropped", "unsent")
DIGEST = re.compile(r"^(\d+) tasks? created in the last minute$")


def _plugins() -> list[Any]:
    return [TasksPlugin(), DiscordPlugin()]


@pytest.fixture(params=["postgresql", "sqlite"])
async def outbox_db(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> AsyncIterator[str]:
    """A database with the tasks tables and the outbox (both branches removed afterwards)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}" if request.param == "sqlite" else pg_url
    async with migrated_database(url, _plugins()) as migrated:
        yield migrated


@pytest.fixture
def discord() -> Any:
    with DiscordServer() as server:
        yield server


def _app(
    base_env: dict[str, str], url: str, webhook: str, registry: CollectorRegistry, **more: str
) -> Any:
    env = {
        **base_env,
        "BOSS_DATABASE__URL": url,
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_DISCORD__WEBHOOKS__TASKS": webhook,
        "BOSS_DISCORD__BACKOFF_BASE": "0.01",
        "BOSS_DISCORD__OUTBOX_INTERVAL": "0.2",
        "BOSS_DISCORD__DRAIN_TIMEOUT": "5",
        **{f"BOSS_DISCORD__{k.upper()}": v for k, v in more.items()},
    }
    return create_app(load_settings(env), plugins=_plugins(), registry=registry)


def counted(*registries: CollectorRegistry) -> dict[str, float]:
    totals = dict.fromkeys(STATUSES, 0.0)
    for registry in registries:
        for status in STATUSES:
            totals[status] += (
                registry.get_sample_value(
                    "discord_messages_sent_total", {"channel": "tasks", "status": status}
                )
                or 0.0
            )
    return totals


def notified(discord: DiscordServer) -> int:
    """Task notifications Discord shows: one per embed, or the number in a digest title."""
    total = 0
    for body in discord.messages_for("tasks"):
        for embed in body["embeds"]:
            match = DIGEST.match(embed["title"])
            total += int(match.group(1)) if match else 1
    return total


async def _until(predicate: Any, limit: float = 30.0) -> None:
    with anyio.fail_after(limit):
        while not predicate():  # noqa: ASYNC110 - polling a metric and a fake server
            await anyio.sleep(0.05)


async def _create(client: AsyncTestClient[Any], count: int, prefix: str = "task") -> None:
    for number in range(count):
        answer = await client.post(
            "/api/db/tasks", json={"title": f"{prefix} {number}"}, headers=MEMBER
        )
        assert answer.status_code == 201, answer.text


async def test_a_few_events_become_embeds_in_one_message_and_count_as_sent(
    base_env: dict[str, str], outbox_db: str, discord: DiscordServer
) -> None:
    registry = CollectorRegistry()
    app = _app(base_env, outbox_db, discord.webhook_url("tasks"), registry, outbox_interval="1.5")
    async with AsyncTestClient(app) as client:
        await _create(client, 3)
        await _until(lambda: counted(registry)["sent"] == 3)
    assert notified(discord) == 3
    assert all(len(m["embeds"]) <= 10 for m in discord.messages_for("tasks"))
    assert len(discord.messages_for("tasks")) <= 3
    assert counted(registry) == {**dict.fromkeys(STATUSES, 0.0), "sent": 3.0}


async def test_a_burst_becomes_a_digest_and_survives_429_and_5xx(
    base_env: dict[str, str], outbox_db: str, discord: DiscordServer
) -> None:
    """40 tasks in a burst: a few messages (digests), every event counted exactly once."""
    discord.script(
        Reply.rate_limited(0.05),
        Reply.server_error(502),
        Reply.rate_limited(0.05, global_=True),
        webhook="tasks",
    )
    registry = CollectorRegistry()
    app = _app(base_env, outbox_db, discord.webhook_url("tasks"), registry, outbox_interval="1.0")
    async with AsyncTestClient(app) as client:
        await _create(client, 40)
        await _until(lambda: sum(counted(registry).values()) >= 40)
    totals = counted(registry)
    assert totals["sent"] + totals["coalesced"] == 40
    assert totals["failed"] == totals["dropped"] == 0
    assert totals["coalesced"] >= 11  # at least one pass held more than 10 events
    assert notified(discord) == 40  # each task announced once: embed or digest line count
    messages = discord.messages_for("tasks")
    assert len(messages) <= 8  # not 40
    digest = next(e for m in messages for e in m["embeds"] if DIGEST.match(e["title"]))
    assert digest["description"].startswith("• TASK-")
    statuses = [r.status for r in discord.requests]
    assert 429 in statuses
    assert 502 in statuses


async def test_nothing_is_lost_across_a_restart_and_two_workers_count_once(
    base_env: dict[str, str], outbox_db: str, discord: DiscordServer
) -> None:
    """Discord down while tasks are created and the app stops; the next apps deliver all."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/api/webhooks/1/x"
    first = CollectorRegistry()
    app = _app(base_env, outbox_db, dead, first, retries="0", timeout="1")
    async with AsyncTestClient(app) as client:
        await _create(client, 12, "before restart")
    assert sum(counted(first).values()) == 0  # nothing ended: still in the outbox
    registries = (CollectorRegistry(), CollectorRegistry())
    apps = [_app(base_env, outbox_db, discord.webhook_url("tasks"), r) for r in registries]
    async with AsyncTestClient(apps[0]) as one, AsyncTestClient(apps[1]) as two:
        await _create(one, 15, "one")
        await _create(two, 15, "two")
        await _until(lambda: sum(counted(*registries).values()) >= 42)
        await anyio.sleep(0.5)  # a late double count would show up here
    totals = counted(*registries)
    assert totals["sent"] + totals["coalesced"] == 42
    assert notified(discord) == 42
    database = Database(outbox_db)
    try:
        assert await database.outbox.pending(["task.created"]) == 0
    finally:
        await database.dispose()


async def test_events_past_the_age_limit_are_dropped_and_counted(
    base_env: dict[str, str], outbox_db: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/api/webhooks/1/x"
    registry = CollectorRegistry()
    app = _app(base_env, outbox_db, dead, registry, retries="0", timeout="1", outbox_max_age="1")
    async with AsyncTestClient(app) as client:
        await _create(client, 4)
        await _until(lambda: counted(registry)["dropped"] == 4)
    assert counted(registry)["sent"] == 0
