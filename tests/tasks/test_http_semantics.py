"""HTTP semantics of the task API: 201 + Location, 304, 412/428, 415, HEAD and OPTIONS, and
hard input that must answer 4xx naming every field at once."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.tasks.helpers import ADMIN, counts, create

pytestmark = pytest.mark.anyio


async def test_create_answers_location_and_etag(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/db/tasks", json={"title": "Here"}, headers=ADMIN)
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/api/db/tasks/{task['id']}"
    assert response.headers["etag"] == '"1"'
    fetched = await client.get(response.headers["location"], headers=ADMIN)
    assert fetched.json() == task


async def test_if_none_match_answers_304_until_the_task_changes(
    client: AsyncTestClient[Any],
) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}"
    response = await client.get(url, headers={**ADMIN, "If-None-Match": '"1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"1"'
    await client.patch(url, json={"title": "Changed"}, headers={**ADMIN, "If-Match": '"1"'})
    response = await client.get(url, headers={**ADMIN, "If-None-Match": '"1"'})
    assert response.status_code == 200
    assert response.json()["title"] == "Changed"
    response = await client.get(url, headers={**ADMIN, "If-None-Match": 'W/"9", "2"'})
    assert response.status_code == 304


async def test_patch_without_any_version_is_428(
    client: AsyncTestClient[Any], migrated: str
) -> None:
    task = await create(client)
    before = await counts(migrated)
    response = await client.patch(f"/api/db/tasks/{task['id']}", json={"title": "x"}, headers=ADMIN)
    assert response.status_code == 428
    assert response.json()["type"] == "/problems/precondition-required"
    assert await counts(migrated) == before


async def test_status_change_is_a_command_without_version(client: AsyncTestClient[Any]) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}/status"
    response = await client.post(url, json={"status": "in_progress"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'
    refused = await client.post(url, json={"status": "pending", "version": 1}, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/version-conflict"
    forbidden = await client.post(url, json={"status": "in_progress"}, headers=ADMIN)
    assert forbidden.status_code == 409
    assert forbidden.json()["type"] == "/problems/invalid-transition"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_body_is_415(
    client: AsyncTestClient[Any], migrated: str, content_type: str | None
) -> None:
    task = await create(client)
    before = await counts(migrated)
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    body = b'{"title": "sneaky", "version": 1, "status": "in_progress"}'
    for method, url in (
        ("POST", "/api/db/tasks"),
        ("PATCH", f"/api/db/tasks/{task['id']}"),
        ("POST", f"/api/db/tasks/{task['id']}/status"),
    ):
        response = await client.request(method, url, content=body, headers=headers)
        assert response.status_code == 415, (method, url, response.text)
        assert response.json()["type"] == "/problems/unsupported-media-type"
    assert await counts(migrated) == before


async def test_head_and_options_everywhere(client: AsyncTestClient[Any]) -> None:
    task = await create(client)
    for path in ("/api/db/tasks", f"/api/db/tasks/{task['id']}", f"/api/db/audit/{task['id']}"):
        get = await client.get(path, headers=ADMIN)
        head = await client.head(path, headers=ADMIN)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers.get("etag") == get.headers.get("etag")
    head = await client.head("/health")
    assert head.status_code == 200
    expected = {
        "/api/db/tasks": "GET, HEAD, OPTIONS, POST",
        f"/api/db/tasks/{task['id']}": "DELETE, GET, HEAD, OPTIONS, PATCH",
        f"/api/db/tasks/{task['id']}/status": "OPTIONS, POST",
        "/health": "GET, HEAD, OPTIONS",
    }
    for path, allow in expected.items():
        response = await client.options(path, headers=ADMIN)
        assert response.status_code == 204, path
        assert response.headers["allow"] == allow, path
    wrong = await client.put("/api/db/tasks", json={}, headers=ADMIN)
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "/problems/method-not-allowed"


async def test_every_invalid_field_is_reported_at_once(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/db/tasks",
        json={
            "title": "a\x00b",
            "description": 7,
            "assignee": "",
            "priority": "asap",
            "deadline": 1700000000,
            "colour": "red",
        },
        headers=ADMIN,
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "/problems/validation"
    named = {e["field"]: e for e in problem["errors"]}
    assert set(named) == {"title", "description", "assignee", "priority", "deadline", "colour"}
    assert all(e["source"] == "body" and e["message"] for e in problem["errors"])
    response = await client.get(
        "/api/db/tasks?sort=deadline&page=2&limit=0&status=done&colour=red", headers=ADMIN
    )
    assert response.status_code == 400
    named = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(named) == {"page", "colour", "limit", "status"}
    assert named["page"] == "unknown query parameter"


HARD_DEADLINES = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
]


@pytest.mark.parametrize("deadline", HARD_DEADLINES)
async def test_dates_beyond_utc_are_400(
    client: AsyncTestClient[Any], migrated: str, deadline: str
) -> None:
    response = await client.post(
        "/api/db/tasks", json={"title": "x", "deadline": deadline}, headers=ADMIN
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "deadline"
    task = await create(client)
    response = await client.patch(
        f"/api/db/tasks/{task['id']}", json={"deadline": deadline, "version": 1}, headers=ADMIN
    )
    assert response.status_code == 400, response.text
    response = await client.get("/api/db/tasks", params={"due_before": deadline}, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert await counts(migrated) == (1, 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=73590380050807614292885504", "offset"),
        ("limit=99999999999999999999999", "limit"),
        ("assignee=%00", "assignee"),
        ("q=a%01b", "q"),
        ("due_before=2030-01-01T00:00:00", "due_before"),  # no offset
        ("due_after=tomorrow", "due_after"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("sort=deadline&sort=priority", "sort"),
        ("limit=1&limit=2", "limit"),
    ],
)
async def test_hard_list_queries_are_400(
    client: AsyncTestClient[Any], query: str, field: str
) -> None:
    response = await client.get(f"/api/db/tasks?{query}", headers=ADMIN)
    assert response.status_code == 400, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def test_hard_bodies_are_400(client: AsyncTestClient[Any], migrated: str) -> None:
    task = await create(client)
    url = f"/api/db/tasks/{task['id']}"
    before = await counts(migrated)
    for body, field in (
        ({"title": "x", "version": 2**40}, "version"),
        ({"title": "x", "version": 1.5}, "version"),
        ({"title": "x", "version": True}, "version"),
        ({"title": "tab\there", "version": 1}, "title"),
        ({"description": "ok\nbut \x07 bell", "version": 1}, "description"),
        ([1, 2], "body"),
        ("title", "body"),
    ):
        response = await client.patch(url, json=body, headers=ADMIN)
        assert response.status_code == 400, (body, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, response.text
    response = await client.patch(
        url,
        content=b'{"title": "x", "version": 1',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert await counts(migrated) == before
    multiline = await client.patch(
        url, json={"description": "line one\nline two\ttabbed", "version": 1}, headers=ADMIN
    )
    assert multiline.status_code == 200, multiline.text


async def test_bad_idempotency_key_and_if_match_are_400(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/db/tasks", json={"title": "x"}, headers={**ADMIN, "Idempotency-Key": "a" * 256}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
