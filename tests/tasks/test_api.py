"""The task workflow API end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.tasks.helpers import ADMIN, MEMBER, counts, create

pytestmark = pytest.mark.anyio


async def test_create_get_and_defaults(client: AsyncTestClient[Any]) -> None:
    task = await create(client, title="  Ship it  ")
    assert task["id"].startswith("TASK-")
    assert task["title"] == "Ship it"
    assert task["priority"] == "medium"
    assert task["status"] == "pending"
    assert task["version"] == 1
    assert task["assignee"] is None
    assert task["deadline"] is None
    response = await client.get(f"/api/db/tasks/{task['id']}", headers=MEMBER)
    assert response.status_code == 200
    assert response.json() == task
    assert response.headers["etag"] == '"1"'


async def test_ids_are_increasing(client: AsyncTestClient[Any]) -> None:
    numbers = [int((await create(client))["id"].removeprefix("TASK-")) for _ in range(3)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3


async def test_unknown_task_is_404_problem(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/db/tasks/TASK-999999", headers=ADMIN)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "TASK-999999" in response.json()["detail"]
    for path in ("/api/db/audit/TASK-999999",):
        assert (await client.get(path, headers=ADMIN)).status_code == 404
    response = await client.patch(
        "/api/db/tasks/TASK-999999", json={"title": "x", "version": 1}, headers=ADMIN
    )
    assert response.status_code == 404


async def test_needs_an_api_key(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/api/db/tasks")).status_code == 401
    assert (await client.post("/api/db/tasks", json={"title": "x"})).status_code == 401


async def test_list_filters_paging_newest_first(client: AsyncTestClient[Any]) -> None:
    first = await create(client, title="a", assignee="ana", priority="high")
    second = await create(client, title="b", assignee="bob")
    third = await create(client, title="c", assignee="ana", priority="low")
    response = await client.get("/api/db/tasks", headers=ADMIN)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert [t["id"] for t in page["items"]] == [third["id"], second["id"], first["id"]]
    page = (await client.get("/api/db/tasks?assignee=ana", headers=ADMIN)).json()
    assert [t["id"] for t in page["items"]] == [third["id"], first["id"]]
    page = (await client.get("/api/db/tasks?priority=high", headers=ADMIN)).json()
    assert [t["id"] for t in page["items"]] == [first["id"]]
    page = (await client.get("/api/db/tasks?limit=1&offset=1", headers=ADMIN)).json()
    assert page["total"] == 3
    assert page["limit"] == 1
    assert page["offset"] == 1
    assert [t["id"] for t in page["items"]] == [second["id"]]
    await client.post(
        f"/api/db/tasks/{second['id']}/status",
        json={"status": "in_progress", "version": 1},
        headers=ADMIN,
    )
    page = (await client.get("/api/db/tasks?status=in_progress", headers=ADMIN)).json()
    assert [t["id"] for t in page["items"]] == [second["id"]]
    assert page["total"] == 1


async def test_patch_with_version_and_audit(client: AsyncTestClient[Any]) -> None:
    task = await create(client, title="Draft", priority="low")
    response = await client.patch(
        f"/api/db/tasks/{task['id']}",
        json={
            "title": "Final",
            "assignee": "ana",
            "deadline": "2030-01-02T03:04:05+02:00",
            "version": 1,
        },
        headers=MEMBER,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "Final"
    assert updated["assignee"] == "ana"
    assert updated["deadline"] == "2030-01-02T01:04:05Z"
    assert updated["version"] == 2
    assert response.headers["etag"] == '"2"'
    # If-Match instead of the body field; null clears the assignee
    response = await client.patch(
        f"/api/db/tasks/{task['id']}",
        json={"assignee": None},
        headers={**ADMIN, "If-Match": '"2"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] is None
    assert response.json()["version"] == 3
    trail = (await client.get(f"/api/db/audit/{task['id']}", headers=ADMIN)).json()
    assert trail["task_id"] == task["id"]
    entries = trail["entries"]
    assert [e["action"] for e in entries] == ["created", "updated", "updated"]
    assert entries[0]["actor"] == "ana"
    assert entries[0]["changes"]["title"] == [None, "Draft"]
    assert entries[1]["actor"] == "bob"
    assert entries[1]["changes"] == {
        "title": ["Draft", "Final"],
        "assignee": [None, "ana"],
        "deadline": [None, "2030-01-02T01:04:05+00:00"],
    }
    assert entries[2]["changes"] == {"assignee": ["ana", None]}
    assert entries[0]["at"] <= entries[1]["at"] <= entries[2]["at"]


async def test_patch_with_same_values_changes_nothing(client: AsyncTestClient[Any]) -> None:
    task = await create(client, title="Same")
    response = await client.patch(
        f"/api/db/tasks/{task['id']}", json={"title": "Same", "version": 1}, headers=ADMIN
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1
    trail = (await client.get(f"/api/db/audit/{task['id']}", headers=ADMIN)).json()
    assert len(trail["entries"]) == 1


async def test_stale_version_is_409_stale_if_match_412_and_nothing_changes(
    client: AsyncTestClient[Any], migrated: str
) -> None:
    task = await create(client, title="Original")
    ok = await client.patch(
        f"/api/db/tasks/{task['id']}", json={"title": "First", "version": 1}, headers=ADMIN
    )
    assert ok.status_code == 200
    before = await counts(migrated)
    for request, status, kind in (
        (
            client.patch(
                f"/api/db/tasks/{task['id']}",
                json={"title": "Second", "version": 1},
                headers=ADMIN,
            ),
            409,
            "version-conflict",
        ),
        (
            client.patch(
                f"/api/db/tasks/{task['id']}",
                json={"title": "Second"},
                headers={**ADMIN, "If-Match": '"1"'},
            ),
            412,
            "precondition-failed",
        ),
        (
            client.post(
                f"/api/db/tasks/{task['id']}/status",
                json={"status": "in_progress", "version": 1},
                headers=ADMIN,
            ),
            409,
            "version-conflict",
        ),
        (
            client.post(
                f"/api/db/tasks/{task['id']}/status",
                json={"status": "in_progress"},
                headers={**ADMIN, "If-Match": '"1"'},
            ),
            412,
            "precondition-failed",
        ),
        (
            client.delete(f"/api/db/tasks/{task['id']}", headers={**ADMIN, "If-Match": '"1"'}),
            412,
            "precondition-failed",
        ),
    ):
        stale = await request
        assert stale.status_code == status, stale.text
        assert stale.headers["content-type"].startswith("application/problem+json")
        assert stale.headers["etag"] == '"2"'
        assert stale.json()["type"] == f"/problems/{kind}"
        assert stale.json()["current_version"] == 2
    current = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
    assert current["title"] == "First"
    assert current["status"] == "pending"
    assert current["version"] == 2
    assert await counts(migrated) == before


async def test_status_workflow_and_reopen(client: AsyncTestClient[Any]) -> None:
    task = await create(client)
    path = f"/api/db/tasks/{task['id']}/status"
    version = 1
    for status in (
        "in_progress",
        "blocked",
        "in_progress",
        "completed",
        "in_progress",
        "cancelled",
    ):
        response = await client.post(
            path, json={"status": status, "note": f"to {status}", "version": version}, headers=ADMIN
        )
        assert response.status_code == 200, (status, response.text)
        assert response.json()["status"] == status
        version = response.json()["version"]
    assert version == 7
    trail = (await client.get(f"/api/db/audit/{task['id']}", headers=ADMIN)).json()["entries"]
    assert [e["changes"]["status"] for e in trail[1:]] == [
        ["pending", "in_progress"],
        ["in_progress", "blocked"],
        ["blocked", "in_progress"],
        ["in_progress", "completed"],
        ["completed", "in_progress"],
        ["in_progress", "cancelled"],
    ]
    assert trail[-1]["note"] == "to cancelled"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "completed"),  # pending -> completed skips the work
        ([], "pending"),  # same status is no transition
        (["in_progress", "completed"], "blocked"),  # completed is terminal except reopen
        (["cancelled"], "pending"),  # cancelled is terminal except reopen
        (["cancelled"], "completed"),
    ],
)
async def test_invalid_transition_changes_nothing(
    client: AsyncTestClient[Any], migrated: str, path: list[str], target: str
) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}/status"
    version = 1
    for status in path:
        response = await client.post(
            url, json={"status": status, "version": version}, headers=ADMIN
        )
        assert response.status_code == 200
        version = response.json()["version"]
    before_rows = await counts(migrated)
    before = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
    response = await client.post(url, json={"status": target, "version": version}, headers=ADMIN)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["current_status"] == before["status"]
    assert target not in problem["allowed"]
    assert target in problem["detail"]
    assert (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json() == before
    assert await counts(migrated) == before_rows


async def test_openapi_documents_the_routes(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/db/tasks",
        "/api/db/tasks/{task_id}",
        "/api/db/tasks/{task_id}/status",
        "/api/db/audit/{task_id}",
    ):
        assert path in paths, sorted(paths)
    assert set(paths["/api/db/tasks"]) >= {"get", "post"}
    assert "patch" in paths["/api/db/tasks/{task_id}"]
