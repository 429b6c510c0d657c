"""Task and database metrics move as the API is used (read through /metrics)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.tasks.helpers import ADMIN, create, sample

pytestmark = pytest.mark.anyio


async def _metrics(client: AsyncTestClient[Any]) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def _status_count(client: AsyncTestClient[Any], status: str, expected: float) -> None:
    """Wait (bounded) until the refresher has published ``expected`` for ``status``."""
    for _ in range(200):
        if sample(await _metrics(client), "tasks_by_status", status=status) == expected:
            return
        await asyncio.sleep(0.02)
    text = await _metrics(client)
    raise AssertionError(f"tasks_by_status{{status={status}}} != {expected}: {text[-2000:]}")


async def test_task_metrics_follow_the_api(client: AsyncTestClient[Any]) -> None:
    text = await _metrics(client)
    # zero-initialised from start-up: known assignees, other and unassigned, every priority
    assert sample(text, "tasks_created_total", assignee="ana", priority="high") == 0
    assert sample(text, "tasks_completed_total", assignee="unassigned") == 0
    await _status_count(client, "pending", 0)

    ana = await create(client, assignee="ana", priority="high")
    await create(client, assignee="zed", priority="low")  # not a known assignee
    await create(client)  # unassigned, medium
    text = await _metrics(client)
    assert sample(text, "tasks_created_total", assignee="ana", priority="high") == 1
    assert sample(text, "tasks_created_total", assignee="other", priority="low") == 1
    assert sample(text, "tasks_created_total", assignee="unassigned", priority="medium") == 1
    assert "zed" not in text
    await _status_count(client, "pending", 3)

    url = f"/api/db/tasks/{ana['id']}/status"
    await client.post(url, json={"status": "in_progress", "version": 1}, headers=ADMIN)
    response = await client.post(url, json={"status": "completed", "version": 2}, headers=ADMIN)
    assert response.status_code == 200
    text = await _metrics(client)
    assert sample(text, "tasks_completed_total", assignee="ana") == 1
    await _status_count(client, "completed", 1)
    await _status_count(client, "pending", 2)
    for status in ("in_progress", "blocked", "cancelled"):
        assert sample(await _metrics(client), "tasks_by_status", status=status) == 0


async def test_database_metrics_follow_the_api(client: AsyncTestClient[Any]) -> None:
    before = await _metrics(client)
    inserts = sample(before, "db_queries_total", operation="insert") or 0
    updates = sample(before, "db_queries_total", operation="update") or 0
    task = await create(client)
    await client.patch(
        f"/api/db/tasks/{task['id']}", json={"title": "changed", "version": 1}, headers=ADMIN
    )
    text = await _metrics(client)
    assert sample(text, "db_queries_total", operation="insert") == inserts + 3  # task, audit, audit
    assert sample(text, "db_queries_total", operation="update") == updates + 1
    count = sample(text, "db_query_duration_seconds_count", operation="select")
    assert count is not None
    assert count > 0
    # the pool gauge is current while serving: nothing stays checked out between requests
    # (the status refresher may hold one for a moment, so allow it to finish)
    for _ in range(100):
        if sample(text, "db_pool_connections", state="checked_out") == 0:
            break
        await asyncio.sleep(0.02)
        text = await _metrics(client)
    assert sample(text, "db_pool_connections", state="checked_out") == 0
    assert (sample(text, "db_pool_connections", state="idle") or 0) >= 1
    assert (sample(text, "db_pool_connections", state="size") or 0) == 5
