"""Every kind of bad input answers a 400/422 problem that names the field; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.tasks.helpers import ADMIN, counts, create

pytestmark = pytest.mark.anyio

LONG = "x" * 201

CREATE_CASES = [
    ({"title": "ok", "colour": "red"}, "colour"),  # unknown field
    ({"title": 42}, "title"),  # wrong type
    ({"title": ""}, "title"),  # empty
    ({"title": "   "}, "title"),  # only whitespace
    ({"title": LONG}, "title"),  # too long
    ({"title": "ok", "description": "d" * 5001}, "description"),
    ({"title": "ok", "assignee": "a" * 101}, "assignee"),
    ({"title": "ok", "assignee": ""}, "assignee"),
    ({"title": "ok", "priority": "whenever"}, "priority"),  # unknown priority
    ({"title": "ok", "deadline": "tomorrow"}, "deadline"),
    ({"title": "ok", "deadline": "2030-01-01T10:00:00"}, "deadline"),  # no UTC offset
    ({"title": "ok", "status": "completed"}, "status"),  # status is not settable on create
    ({}, "title"),  # missing
]


def _names_field(response: Any, field: str) -> None:
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = {e.get("field") for e in problem.get("errors", [])}
    assert field in named or field in problem.get("detail", ""), problem


@pytest.mark.parametrize(("body", "field"), CREATE_CASES)
async def test_bad_create(
    client: AsyncTestClient[Any], migrated: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/db/tasks", json=body, headers=ADMIN)
    _names_field(response, field)
    assert await counts(migrated) == (0, 0)


async def test_body_that_is_not_json(client: AsyncTestClient[Any], migrated: str) -> None:
    response = await client.post(
        "/api/db/tasks",
        content=b"{not json",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert await counts(migrated) == (0, 0)


PATCH_CASES = [
    ({"title": "new", "version": 1, "owner": "x"}, "owner"),
    ({"title": "", "version": 1}, "title"),
    ({"title": "  ", "version": 1}, "title"),
    ({"title": LONG, "version": 1}, "title"),
    ({"priority": "asap", "version": 1}, "priority"),
    ({"title": "new", "version": "one"}, "version"),
    ({"title": "new", "version": 0}, "version"),
    ({"version": 1}, "body"),  # nothing to change
    ({"deadline": "2030-01-01", "version": 1}, "deadline"),
]


@pytest.mark.parametrize(("body", "field"), PATCH_CASES)
async def test_bad_patch(
    client: AsyncTestClient[Any], migrated: str, body: dict[str, Any], field: str
) -> None:
    task = await create(client, title="Keep me")
    before = await counts(migrated)
    response = await client.patch(f"/api/db/tasks/{task['id']}", json=body, headers=ADMIN)
    _names_field(response, field)
    assert await counts(migrated) == before
    assert (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json() == task


async def test_bad_if_match(client: AsyncTestClient[Any]) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}"
    response = await client.patch(url, json={"title": "x"}, headers={**ADMIN, "If-Match": "*"})
    _names_field(response, "If-Match")
    response = await client.patch(
        url, json={"title": "x", "version": 1}, headers={**ADMIN, "If-Match": '"2"'}
    )
    _names_field(response, "version")


STATUS_CASES = [
    ({"status": "done", "version": 1}, "status"),  # unknown status
    ({"version": 1}, "status"),  # missing
    ({"status": "in_progress", "version": 1, "why": "x"}, "why"),
    ({"status": "in_progress", "version": 1, "note": "n" * 1001}, "note"),
]


@pytest.mark.parametrize(("body", "field"), STATUS_CASES)
async def test_bad_status_change(
    client: AsyncTestClient[Any], migrated: str, body: dict[str, Any], field: str
) -> None:
    task = await create(client)
    before = await counts(migrated)
    response = await client.post(f"/api/db/tasks/{task['id']}/status", json=body, headers=ADMIN)
    _names_field(response, field)
    assert await counts(migrated) == before


@pytest.mark.parametrize("bad_id", ["42", "TASK-", "TASK-0", "TASK-abc", "task-1", "TASK-1x"])
async def test_malformed_ids(client: AsyncTestClient[Any], migrated: str, bad_id: str) -> None:
    for response in (
        await client.get(f"/api/db/tasks/{bad_id}", headers=ADMIN),
        await client.get(f"/api/db/audit/{bad_id}", headers=ADMIN),
        await client.patch(
            f"/api/db/tasks/{bad_id}", json={"title": "x", "version": 1}, headers=ADMIN
        ),
        await client.post(
            f"/api/db/tasks/{bad_id}/status",
            json={"status": "in_progress", "version": 1},
            headers=ADMIN,
        ),
    ):
        _names_field(response, "task_id")
    assert await counts(migrated) == (0, 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("priority=asap", "priority"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        (f"assignee={'a' * 101}", "assignee"),
    ],
)
async def test_bad_list_queries(client: AsyncTestClient[Any], query: str, field: str) -> None:
    response = await client.get(f"/api/db/tasks?{query}", headers=ADMIN)
    _names_field(response, field)
