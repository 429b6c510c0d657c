"""The AI endpoints in a real app on PostgreSQL with the tasks plugin: drafts, task creation
(audit and events included), and provider failures that create nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from boss_ai import AIPlugin
from boss_discord import DiscordPlugin
from boss_tasks import TasksPlugin
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry

from boss.app import create_app
from boss.settings import load_settings
from tests.conftest import ADMIN, MEMBER
from tests.fakes.discord_server import DiscordServer
from tests.fakes.openai_server import OpenAIServer, Reply
from tests.tasks.helpers import counts

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
TEXT = "Ana: fix the login bug by Friday, urgent"
KEY = "sk-api-test-secret-777777"
GOOD = {
    "title": "Fix the login bug",
    "assignee": "Ana",
    "priority": "urgent",
    "deadline": "2026-11-27",
    "confidence": 0.9,
}


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as server:
        yield server


class NoWait:
    """Retry waits that cost nothing (the provider's own tests check the values)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.lowlevel.checkpoint()


def build(base_env, db_url: str, registry: CollectorRegistry, *extra: Any, **ai: str):
    env = {
        **base_env,
        "BOSS_DATABASE__URL": db_url,
        "BOSS_RATE_LIMIT__ENABLED": "false",
        **{f"BOSS_AI__{k.upper()}": v for k, v in ai.items()},
    }
    plugin = AIPlugin(clock=lambda: NOW, sleep=NoWait())
    return create_app(
        load_settings(env), plugins=[TasksPlugin(), plugin, *extra], registry=registry
    )


@asynccontextmanager
async def running(app: Any, registry: CollectorRegistry) -> AsyncIterator[AsyncTestClient[Any]]:
    """A started app whose tasks plugin has finished its first status refresh.

    (Stopping the app while that first PostgreSQL query runs can leave the tasks plugin's
    refresher running and hang shutdown; see the report on the tasks plugin.)
    """
    async with AsyncTestClient(app) as client:
        with anyio.fail_after(10):
            while registry.get_sample_value("tasks_by_status", {"status": "pending"}) is None:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        yield client


def openai_env(llm: OpenAIServer, **more: str) -> dict[str, str]:
    return {"provider": "openai", "base_url": llm.base_url, "api_key": KEY, "model": "m", **more}


def ai_count(registry: CollectorRegistry, operation: str, status: str) -> float:
    return (
        registry.get_sample_value("ai_requests_total", {"operation": operation, "status": status})
        or 0.0
    )


async def test_parse_offline_returns_a_draft_and_creates_nothing(base_env, pg_tasks):
    registry = CollectorRegistry()
    async with running(build(base_env, pg_tasks, registry), registry) as client:
        response = await client.post("/api/ai/parse", json={"text": TEXT}, headers=MEMBER)
        ready = await client.get("/health/ready", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "Fix the login bug",
        "description": "",
        "assignee": "Ana",
        "priority": "urgent",
        "deadline": "2026-11-27T23:59:59Z",
        "confidence": 0.87,
        "provider": "offline",
        "recognised": {"title": True, "assignee": True, "priority": True, "deadline": True},
        "timezone": "UTC",
    }
    assert await counts(pg_tasks) == (0, 0)
    assert ai_count(registry, "parse", "ok") == 1
    assert (
        registry.get_sample_value("ai_request_duration_seconds_count", {"operation": "parse"}) == 1
    )
    assert ready.json()["details"]["ai"] == (
        "offline provider (deterministic rules, parsedatetime for dates)"
    )


async def test_bad_input_is_a_400_naming_text(base_env, pg_tasks):
    registry = CollectorRegistry()
    async with running(build(base_env, pg_tasks, registry), registry) as client:
        missing = await client.post("/api/ai/parse", json={}, headers=MEMBER)
        blank = await client.post("/api/ai/tasks", json={"text": "   "}, headers=MEMBER)
        wrong = await client.post("/api/ai/tasks", json={"text": 5}, headers=MEMBER)
        long = await client.post("/api/ai/parse", json={"text": "x" * 5000}, headers=MEMBER)
        anonymous = await client.post("/api/ai/parse", json={"text": TEXT})
    for response in (missing, blank, wrong, long):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "text" in response.json()["detail"]
    for response in (blank, wrong, long):
        assert [e["field"] for e in response.json()["errors"]] == ["text"]
    assert anonymous.status_code == 401
    assert await counts(pg_tasks) == (0, 0)


async def test_every_bad_field_query_and_media_type_is_named_and_nothing_is_created(
    base_env, pg_tasks
):
    registry = CollectorRegistry()
    bad = {"text": "fix it\u0000", "timezone": "Mars/Olympus", "now": 0}
    async with running(build(base_env, pg_tasks, registry), registry) as client:
        fields = await client.post("/api/ai/tasks", json=bad, headers=MEMBER)
        query = await client.post("/api/ai/parse?debug=1", json={"text": TEXT}, headers=MEMBER)
        plain = await client.post(
            "/api/ai/tasks",
            content=b'{"text": "Ana: fix the login bug"}',
            headers={**MEMBER, "Content-Type": "text/plain"},
        )
        multiline = await client.post(
            "/api/ai/parse", json={"text": "Ana: fix the login bug\n\tby Friday"}, headers=MEMBER
        )
    assert fields.status_code == 400, fields.text
    assert [e["field"] for e in fields.json()["errors"]] == ["text", "timezone", "now"]
    assert query.status_code == 400, query.text
    assert query.json()["errors"] == [
        {"field": "debug", "source": "query", "message": "unknown query parameter"}
    ]
    assert plain.status_code == 415, plain.text
    assert plain.json()["type"].endswith("/problems/unsupported-media-type")
    assert multiline.status_code == 200, multiline.text  # line breaks and tabs are text
    assert multiline.json()["assignee"] == "Ana"
    assert await counts(pg_tasks) == (0, 0)
    assert ai_count(registry, "create", "ok") == 0


async def test_create_offline_goes_through_the_tasks_service(base_env, pg_tasks):
    registry = CollectorRegistry()
    with DiscordServer() as discord:
        env = {**base_env, "BOSS_DISCORD__WEBHOOKS__TASKS": discord.webhook_url("tasks")}
        app = build(env, pg_tasks, registry, DiscordPlugin())
        async with running(app, registry) as client:
            response = await client.post("/api/ai/tasks", json={"text": TEXT}, headers=MEMBER)
            assert response.status_code == 201, response.text
            task = response.json()["task"]
            stored = await client.get(f"/api/db/tasks/{task['id']}", headers=MEMBER)
            trail = await client.get(f"/api/db/audit/{task['id']}", headers=MEMBER)
            assert await anyio.to_thread.run_sync(lambda: discord.wait_for(1, timeout=10))
    assert response.json()["draft"]["confidence"] == 0.87
    assert (task["title"], task["assignee"], task["priority"], task["status"]) == (
        "Fix the login bug",
        "Ana",
        "urgent",
        "pending",
    )
    assert task["deadline"] == "2026-11-27T23:59:59Z"
    assert stored.json() == task
    (entry,) = trail.json()["entries"]
    assert (entry["actor"], entry["action"]) == ("bob", "created")
    (message,) = discord.messages_for("tasks")
    assert message["embeds"][0]["title"] == "New task: Fix the login bug"
    assert await counts(pg_tasks) == (1, 1)
    assert ai_count(registry, "create", "ok") == 1


async def test_create_with_the_openai_provider(base_env, pg_tasks, llm):
    llm.script(Reply.content_of({**GOOD, "description": "Safari users are locked out."}))
    registry = CollectorRegistry()
    async with running(build(base_env, pg_tasks, registry, **openai_env(llm)), registry) as client:
        response = await client.post("/api/ai/tasks", json={"text": TEXT}, headers=MEMBER)
        ready = await client.get("/health/ready", headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["draft"]["provider"] == "openai"
    assert body["task"]["description"] == "Safari users are locked out."
    assert ready.json()["details"]["ai"] == "openai-compatible provider, model m"
    assert llm.requests[0].body["messages"][1]["content"] == TEXT


@pytest.mark.parametrize(
    ("replies", "settings", "status", "kind"),
    [
        ([Reply(content="not json at all")], {}, 502, "bad_answer"),
        ([Reply.content_of({**GOOD, "priority": "super-urgent"})], {}, 502, "bad_answer"),
        ([Reply.error(500)] * 3, {}, 503, "unavailable"),
        ([Reply.error(429, headers={"Retry-After": "0"})] * 3, {}, 503, "unavailable"),
        ([Reply.slow(5.0, GOOD)], {"timeout": "0.3"}, 504, "timeout"),
    ],
    ids=["invalid-json", "schema-violation", "server-errors", "rate-limited", "timeout"],
)
async def test_provider_failures_answer_problems_and_create_nothing(
    base_env, pg_tasks, llm, replies, settings, status, kind
):
    llm.script(*replies)
    registry = CollectorRegistry()
    async with running(
        build(base_env, pg_tasks, registry, **openai_env(llm, **settings)), registry
    ) as client:
        created = await client.post("/api/ai/tasks", json={"text": TEXT}, headers=MEMBER)
    assert created.status_code == status, created.text
    assert created.headers["content-type"].startswith("application/problem+json")
    body = created.json()
    assert (body["status"], body["provider_error"]) == (status, kind)
    assert body["detail"].startswith("the AI provider")
    assert KEY not in created.text
    assert await counts(pg_tasks) == (0, 0)
    assert ai_count(registry, "create", kind) == 1
    assert ai_count(registry, "create", "ok") == 0


async def test_parse_failure_is_reported_the_same_way(base_env, pg_tasks, llm):
    llm.script(Reply.error(503), Reply.error(503), Reply.content_of(GOOD))
    registry = CollectorRegistry()
    async with running(build(base_env, pg_tasks, registry, **openai_env(llm)), registry) as client:
        recovered = await client.post("/api/ai/parse", json={"text": TEXT}, headers=MEMBER)
        llm.script(Reply.content_of([1, 2]))
        broken = await client.post("/api/ai/parse", json={"text": TEXT}, headers=MEMBER)
    assert recovered.status_code == 200
    assert broken.status_code == 502
    assert ai_count(registry, "parse", "ok") == 1
    assert ai_count(registry, "parse", "bad_answer") == 1


def test_config_show_hides_the_api_key(base_env):
    from boss.cli._main import cli

    env = {**base_env, "BOSS_AI__PROVIDER": "openai", "BOSS_AI__API_KEY": KEY}
    result = CliRunner().invoke(cli, ["config", "show"], env=env)
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    assert "api_key: '***'" in result.output
    assert json.dumps("openai") in result.output or "provider: openai" in result.output


async def test_create_documents_idempotency_key_like_the_tasks_create(base_env, pg_tasks):
    """``POST /api/ai/tasks`` documents ``Idempotency-Key`` (and what it can answer) exactly as
    ``POST /api/db/tasks`` does, and the server enforces what the schema says of the header."""
    registry = CollectorRegistry()
    async with running(build(base_env, pg_tasks, registry), registry) as client:
        schema = (await client.get("/schema/openapi.json")).json()
        malformed = await client.post(
            "/api/ai/tasks", json={"text": TEXT}, headers={**MEMBER, "Idempotency-Key": "a b"}
        )
    paths = schema["paths"]
    ai_create = paths["/api/ai/tasks"]["post"]
    tasks_create = paths["/api/db/tasks"]["post"]

    def header(operation: dict[str, Any]) -> dict[str, Any]:
        (found,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        return dict(found)

    documented = header(ai_create)
    assert documented == header(tasks_create)
    assert (documented["in"], documented["required"]) == ("header", False)
    assert documented["schema"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
    responses = ai_create["responses"]
    assert {"201", "409", "422", "503"} <= set(responses)
    assert "/problems/idempotency-in-progress" in responses["409"]["description"]
    assert "/problems/idempotency-key-reused" in responses["422"]["description"]
    assert "/problems/database-unavailable" in responses["503"]["description"]
    assert "Retry-After" in responses["503"]["headers"]
    assert {"Location", "ETag"} <= set(responses["201"]["headers"])
    assert malformed.status_code == 400, malformed.text
    (error,) = malformed.json()["errors"]
    assert (error["field"], error["source"]) == ("Idempotency-Key", "header")
    assert await counts(pg_tasks) == (0, 0)


async def test_create_reads_dates_in_the_requests_timezone_and_now(base_env, pg_tasks):
    """``timezone`` and ``now`` count for a create as for a parse; a bad zone is a 400."""
    registry = CollectorRegistry()
    body = {"text": "Ana: pay the supplier by tomorrow", "now": "2026-01-01T20:00:00Z"}
    async with running(build(base_env, pg_tasks, registry), registry) as client:
        created = await client.post(
            "/api/ai/tasks", json={**body, "timezone": "Asia/Tokyo"}, headers=MEMBER
        )
        refused = await client.post(
            "/api/ai/tasks", json={**body, "timezone": "Mars/Olympus"}, headers=MEMBER
        )
    assert created.status_code == 201, created.text
    assert created.json()["draft"]["timezone"] == "Asia/Tokyo"
    # 20:00 UTC is already 2 January in Tokyo: "tomorrow" ends 3 January 23:59:59 there
    assert created.json()["task"]["deadline"] == "2026-01-03T14:59:59Z"
    assert refused.status_code == 400, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["timezone"]
    assert await counts(pg_tasks) == (1, 1)
