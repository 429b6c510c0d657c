"""DELETE hides a task (audit keeps a ``deleted`` entry, metrics and events follow), and
Idempotency-Key makes creates safe to retry, across instances, concurrently and with expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from boss_tasks.idempotency import IdempotencyStore
from boss_tasks.tables import idempotency
from litestar.config.app import AppConfig
from litestar.events import listener
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from boss import BossPlugin
from boss.database import Database
from tests.tasks.conftest import AppFactory
from tests.tasks.helpers import ADMIN, MEMBER, counts, create, sample

pytestmark = pytest.mark.anyio


class DeleteSink(BossPlugin):
    """Records ``task.deleted`` events."""

    name = "deletesink"
    requires: ClassVar[tuple[str, ...]] = ("tasks",)

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        seen = self.seen

        @listener("task.deleted")
        async def deleted(**kwargs: Any) -> None:
            seen.append(kwargs)

        app_config.listeners.append(deleted)
        return app_config


async def test_delete_hides_the_task_and_keeps_the_audit(make_app: AppFactory) -> None:
    sink = DeleteSink()
    app, _ = make_app(sink)
    async with AsyncTestClient(app) as client:
        keep = await create(client, title="keep")
        gone = await create(client, title="gone", assignee="ana")
        url = f"/api/db/tasks/{gone['id']}"
        response = await client.delete(url, headers=MEMBER)
        assert response.status_code == 204
        assert response.content == b""
        assert (await client.get(url, headers=ADMIN)).status_code == 404
        assert (await client.delete(url, headers=ADMIN)).status_code == 404
        assert (
            await client.patch(url, json={"title": "x"}, headers={**ADMIN, "If-Match": '"1"'})
        ).status_code == 404
        assert (
            await client.post(f"{url}/status", json={"status": "blocked"}, headers=ADMIN)
        ).status_code == 404
        page = (await client.get("/api/db/tasks?assignee=ana", headers=ADMIN)).json()
        assert page["items"] == []
        assert page["total"] == 0
        page = (await client.get("/api/db/tasks", headers=ADMIN)).json()
        assert [t["id"] for t in page["items"]] == [keep["id"]]
        trail = (await client.get(f"/api/db/audit/{gone['id']}", headers=ADMIN)).json()
        assert [e["action"] for e in trail["entries"]] == ["created", "deleted"]
        assert trail["entries"][-1]["actor"] == "bob"
        metrics = (await client.get("/metrics")).text
        assert sample(metrics, "tasks_by_status", status="pending") == 1
        for _ in range(200):
            if sink.seen:
                break
            await asyncio.sleep(0.01)
    assert sink.seen[0]["task"].id == gone["id"]
    assert sink.seen[0]["actor"] == "bob"


async def test_retry_with_the_same_key_returns_the_same_task(
    client: AsyncTestClient[Any], migrated: str
) -> None:
    headers = {**ADMIN, "Idempotency-Key": "3f1c2a9e-create-1"}
    body = {"title": "Pay the invoice", "priority": "high"}
    first = await client.post("/api/db/tasks", json=body, headers=headers)
    assert first.status_code == 201
    again = await client.post("/api/db/tasks", json=dict(reversed(body.items())), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await counts(migrated) == (1, 1)
    other = await client.post("/api/db/tasks", json={"title": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    # keys belong to the caller: another key holder's identical key is a new request
    member = await client.post(
        "/api/db/tasks", json=body, headers={**MEMBER, "Idempotency-Key": "3f1c2a9e-create-1"}
    )
    assert member.status_code == 201
    assert member.json()["id"] != first.json()["id"]
    assert await counts(migrated) == (2, 2)


async def test_keys_hold_across_instances_and_expire(make_app: AppFactory, migrated: str) -> None:
    headers = {**ADMIN, "Idempotency-Key": "shared-key"}
    first_app, _ = make_app()
    second_app, _ = make_app()
    async with AsyncTestClient(first_app) as a, AsyncTestClient(second_app) as b:
        created = await a.post("/api/db/tasks", json={"title": "once"}, headers=headers)
        replayed = await b.post("/api/db/tasks", json={"title": "once"}, headers=headers)
        assert replayed.json() == created.json()
        assert await counts(migrated) == (1, 1)
        database = Database(migrated)
        try:
            async with database.begin() as conn:
                await conn.execute(
                    update(idempotency).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
            assert await IdempotencyStore(database).purge() == 1
        finally:
            await database.dispose()
        fresh = await b.post("/api/db/tasks", json={"title": "once"}, headers=headers)
        assert fresh.status_code == 201
        assert fresh.json()["id"] != created.json()["id"]
        assert "idempotent-replayed" not in fresh.headers
        assert await counts(migrated) == (2, 2)


async def test_concurrent_duplicates_create_one_task(
    served: tuple[str, Any], migrated: str
) -> None:
    base, _ = served
    headers = {**ADMIN, "Idempotency-Key": "burst"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post("/api/db/tasks", json={"title": "burst"}, headers=headers)
                for _ in range(8)
            )
        )
    assert {a.status_code for a in answers} <= {201, 409}
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["type"] == "/problems/idempotency-in-progress"
    assert await counts(migrated) == (1, 1)


async def test_ai_create_honours_the_idempotency_key(make_app: AppFactory, migrated: str) -> None:
    from boss_ai import AIPlugin

    app, _ = make_app(AIPlugin(), BOSS_AI__PROVIDER="offline")
    headers = {**ADMIN, "Idempotency-Key": "ai-create-1"}
    body = {"text": "Ana must pay the supplier by Friday, urgent"}
    async with AsyncTestClient(app) as client:
        first = await client.post("/api/ai/tasks", json=body, headers=headers)
        assert first.status_code == 201, first.text
        assert first.headers["location"] == f"/api/db/tasks/{first.json()['task']['id']}"
        assert first.headers["etag"] == '"1"'
        again = await client.post("/api/ai/tasks", json=body, headers=headers)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"]
        other = await client.post("/api/ai/tasks", json={"text": "something else"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert await counts(migrated) == (1, 1)
