"""Concurrent writers: distinct ids, one audit entry each, and no lost updates.

The app runs on a real server so that the requests really overlap in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.tasks.helpers import ADMIN, MEMBER, counts, create

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(served: tuple[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the served app."""
    async with httpx.AsyncClient(base_url=served[0], timeout=60) as http:
        yield http


async def test_fifty_concurrent_creates(client: httpx.AsyncClient, migrated: str) -> None:

    async def one(i: int) -> httpx.Response:
        return await client.post(
            "/api/db/tasks", json={"title": f"task {i}"}, headers=ADMIN if i % 2 else MEMBER
        )

    responses = await asyncio.gather(*(one(i) for i in range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 50
    assert await counts(migrated) == (50, 50)
    page = (await client.get("/api/db/tasks?limit=100", headers=ADMIN)).json()
    assert page["total"] == 50
    numbers = [int(t["id"].removeprefix("TASK-")) for t in page["items"]]
    assert numbers == sorted(numbers, reverse=True)


async def test_two_concurrent_status_changes_on_one_version(
    client: httpx.AsyncClient, migrated: str
) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}/status"
    first, second = await asyncio.gather(
        client.post(url, json={"status": "in_progress", "version": 1}, headers=ADMIN),
        client.post(url, json={"status": "blocked", "version": 1}, headers=MEMBER),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (
        first.text,
        second.text,
    )
    winner = first if first.status_code == 200 else second
    current = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
    assert current["status"] == winner.json()["status"]
    assert current["version"] == 2
    trail = (await client.get(f"/api/db/audit/{task['id']}", headers=ADMIN)).json()["entries"]
    assert [e["action"] for e in trail] == ["created", "status_changed"]
    assert await counts(migrated) == (1, 2)


async def test_concurrent_patches_never_overwrite_silently(
    client: httpx.AsyncClient, migrated: str
) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}"
    responses = await asyncio.gather(
        *(
            client.patch(url, json={"title": f"title {i}", "version": 1}, headers=ADMIN)
            for i in range(8)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 7, [r.text for r in responses]
    assert await counts(migrated) == (1, 2)
