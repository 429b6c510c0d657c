"""List features of GET /api/db/tasks: repeatable and case-insensitive filters, unassigned,
q, due dates, overdue, updated_since, sort orders and keyset cursors with Link headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from tests.tasks.helpers import ADMIN, create

pytestmark = pytest.mark.anyio


async def ids(client: AsyncTestClient[Any], query: str) -> list[str]:
    response = await client.get(f"/api/db/tasks?{query}", headers=ADMIN)
    assert response.status_code == 200, response.text
    page = response.json()
    return [t["id"] for t in page["items"]]


@pytest.fixture
async def seeded(client: AsyncTestClient[Any]) -> dict[str, dict[str, Any]]:
    """Six tasks covering every filter; returned by a short name."""
    t: dict[str, dict[str, Any]] = {}
    t["ana_high"] = await create(
        client,
        title="Fix the LOGIN bug",
        assignee="Ana",
        priority="high",
        deadline="2020-01-01T00:00:00Z",  # long past
    )
    t["bob_low"] = await create(
        client,
        title="Write docs",
        description="about the login page",
        assignee="bob",
        priority="low",
        deadline="2999-01-01T00:00:00Z",
    )
    t["none_urgent"] = await create(client, title="Call the supplier", priority="urgent")
    t["ana_done"] = await create(
        client, title="Old report", assignee="ANA", deadline="2021-06-01T12:00:00+02:00"
    )
    t["carl"] = await create(client, title="100% coverage_now", assignee="carl")
    t["none_blocked"] = await create(client, title="Wait for legal", priority="high")
    for name, steps in (("ana_done", ["in_progress", "completed"]), ("none_blocked", ["blocked"])):
        for status in steps:
            response = await client.post(
                f"/api/db/tasks/{t[name]['id']}/status", json={"status": status}, headers=ADMIN
            )
            assert response.status_code == 200, response.text
            t[name] = response.json()
    return t


async def test_filters(client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]]) -> None:
    t = {name: task["id"] for name, task in seeded.items()}
    # repeated filters mean "any of"
    assert await ids(client, "status=pending&status=blocked") == [
        t["none_blocked"],
        t["carl"],
        t["none_urgent"],
        t["bob_low"],
        t["ana_high"],
    ]
    assert await ids(client, "priority=urgent&priority=low") == [t["none_urgent"], t["bob_low"]]
    # assignee is case-insensitive and repeatable; unassigned lists tasks without one
    assert await ids(client, "assignee=ana") == [t["ana_done"], t["ana_high"]]
    assert await ids(client, "assignee=ANA&assignee=Bob") == [
        t["ana_done"],
        t["bob_low"],
        t["ana_high"],
    ]
    assert await ids(client, "unassigned=true") == [t["none_blocked"], t["none_urgent"]]
    assert await ids(client, "unassigned=true&assignee=carl") == [
        t["none_blocked"],
        t["carl"],
        t["none_urgent"],
    ]
    assert len(await ids(client, "unassigned=false")) == 4
    # q: case-insensitive over title and description; LIKE wildcards are literal
    assert await ids(client, "q=login") == [t["bob_low"], t["ana_high"]]
    assert await ids(client, "q=LOGIN%20BUG") == [t["ana_high"]]
    assert await ids(client, "q=100%25") == [t["carl"]]
    assert await ids(client, "q=e_n") == [t["carl"]]
    assert await ids(client, "q=%25") == [t["carl"]]
    # due dates (strict bounds; tasks without deadline never match) and overdue
    assert await ids(client, "due_before=2021-06-01T10:00:01Z") == [t["ana_done"], t["ana_high"]]
    assert await ids(client, "due_before=2021-06-01T10:00:00Z") == [t["ana_high"]]
    assert await ids(client, "due_after=2021-06-01T12:00:00%2B02:00") == [t["bob_low"]]
    assert await ids(client, "overdue=true") == [t["ana_high"]]  # ana_done is completed
    assert t["ana_high"] not in await ids(client, "overdue=false")
    assert len(await ids(client, "overdue=false")) == 5
    # filters combine with AND
    assert await ids(client, "assignee=ana&status=completed") == [t["ana_done"]]
    response = await client.get("/api/db/tasks?assignee=ana&priority=high", headers=ADMIN)
    assert response.json()["total"] == 1


async def test_updated_since(
    client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]]
) -> None:
    since = seeded["none_blocked"]["updated_at"]
    assert await ids(client, f"updated_since={since}") == [seeded["none_blocked"]["id"]]
    changed = await client.patch(
        f"/api/db/tasks/{seeded['carl']['id']}",
        json={"title": "Later"},
        headers={**ADMIN, "If-Match": '"1"'},
    )
    assert changed.status_code == 200
    assert await ids(client, f"updated_since={since}") == [
        seeded["none_blocked"]["id"],
        seeded["carl"]["id"],
    ]


async def test_sorts(client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]]) -> None:
    t = {name: task["id"] for name, task in seeded.items()}
    created = [
        t[n] for n in ("ana_high", "bob_low", "none_urgent", "ana_done", "carl", "none_blocked")
    ]
    assert await ids(client, "") == created[::-1]  # newest first by default
    assert await ids(client, "sort=created_at") == created
    assert await ids(client, "sort=-created_at") == created[::-1]
    # deadline ascending; tasks without one last, ties by id in the same direction
    assert await ids(client, "sort=deadline") == [
        t["ana_high"],
        t["ana_done"],
        t["bob_low"],
        t["none_urgent"],
        t["carl"],
        t["none_blocked"],
    ]
    assert await ids(client, "sort=-deadline") == [
        t["bob_low"],
        t["ana_done"],
        t["ana_high"],
        t["none_blocked"],
        t["carl"],
        t["none_urgent"],
    ]
    assert await ids(client, "sort=-priority") == [
        t["none_urgent"],
        t["none_blocked"],
        t["ana_high"],
        t["carl"],
        t["ana_done"],
        t["bob_low"],
    ]
    assert (await ids(client, "sort=priority"))[0] == t["bob_low"]
    ordered = await ids(client, "sort=updated_at")
    assert ordered[-1] == t["none_blocked"]  # changed last


@pytest.mark.parametrize(
    "sort", ["-created_at", "deadline", "-deadline", "priority", "-updated_at"]
)
async def test_cursor_paging_walks_every_task_once_even_while_tasks_are_added(
    client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]], sort: str
) -> None:
    expected = await ids(client, f"sort={sort}&limit=100")
    seen: list[str] = []
    url = f"/api/db/tasks?sort={sort}&limit=2"
    pages = 0
    while url:
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] >= 6
        seen.extend(t["id"] for t in page["items"])
        pages += 1
        if pages == 1:
            # a task created while paging must not shift the pages already handed out
            await create(client, title="Added meanwhile", deadline="2030-01-01T00:00:00Z")
        link = response.headers.get("link")
        if page["next_cursor"] is None:
            assert link is None
            break
        assert link.endswith('>; rel="next"')
        target = link[1 : link.index(">")]
        assert parse_qs(urlsplit(target).query)["cursor"] == [page["next_cursor"]]
        url = target
    assert [i for i in seen if i in expected] == expected
    assert len(seen) == len(set(seen))


async def test_cursor_is_bound_to_its_query(
    client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]]
) -> None:
    first = (await client.get("/api/db/tasks?limit=2&sort=deadline", headers=ADMIN)).json()
    cursor = first["next_cursor"]
    assert cursor
    other = await client.get(f"/api/db/tasks?limit=2&sort=priority&cursor={cursor}", headers=ADMIN)
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "cursor"
    both = await client.get(
        f"/api/db/tasks?limit=2&sort=deadline&cursor={cursor}&offset=2", headers=ADMIN
    )
    assert both.status_code == 400


async def test_offset_paging_still_works_with_total(
    client: AsyncTestClient[Any], seeded: dict[str, dict[str, Any]]
) -> None:
    page = (await client.get("/api/db/tasks?limit=4&offset=4", headers=ADMIN)).json()
    assert page["total"] == 6
    assert page["offset"] == 4
    assert len(page["items"]) == 2
    assert page["next_cursor"] is None
