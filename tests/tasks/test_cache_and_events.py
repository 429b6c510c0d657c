"""The cache-aside hook (through a dict-backed ``Cache``) and the domain events."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, ClassVar

import pytest
from litestar.config.app import AppConfig
from litestar.events import listener
from litestar.testing import AsyncTestClient

from boss import BossPlugin, Cache, PluginContext
from boss.cache import CacheKind
from tests.tasks.conftest import AppFactory
from tests.tasks.helpers import ADMIN, MEMBER, create

pytestmark = pytest.mark.anyio


class DictCache:
    """A ``Cache`` in a dict, recording what it is asked to do."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.kinds: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []

    async def get(self, key: str) -> bytes | None:
        self.calls.append(("get", key))
        return self.data.get(key)

    async def set(self, key: str, value: bytes, *, kind: CacheKind = "item") -> None:
        self.calls.append(("set", key))
        self.data[key] = value
        self.kinds[key] = kind

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self.calls.append(("delete", key))
            self.data.pop(key, None)

    async def incr(self, key: str) -> int | None:
        self.calls.append(("incr", key))
        value = int(self.data.get(key, b"0")) + 1
        self.data[key] = str(value).encode()
        return value


class CachePlugin(BossPlugin):
    """Offers a given ``Cache`` to the other plugins, as the cache plugin does."""

    name = "testcache"

    def __init__(self, cache: DictCache) -> None:
        self.cache = cache

    def setup(self, context: PluginContext) -> None:
        super().setup(context)
        context.services.register(Cache, self.cache)  # type: ignore[type-abstract]


def test_dict_cache_is_a_cache() -> None:
    assert isinstance(DictCache(), Cache)


async def test_reads_are_cached_and_writes_invalidate(make_app: AppFactory) -> None:
    cache = DictCache()
    app, _ = make_app(CachePlugin(cache))
    async with AsyncTestClient(app) as client:
        task = await create(client, title="cached")
        key = f"boss:task:{task['id']}:1"
        assert cache.data["boss:tasks:list:gen"] == b"1"
        first = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
        assert key in cache.data
        assert cache.kinds[key] == "item"
        # a cached read is served from the cache: poison it to prove it
        cache.data[key] = cache.data[key].replace(b"cached", b"CACHED")
        second = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
        assert second["title"] == "CACHED"
        assert first["title"] == "cached"

        listing = (await client.get("/api/db/tasks?assignee=x", headers=ADMIN)).json()
        list_keys = [k for k in cache.data if k.startswith("boss:tasks:list:1:")]
        assert len(list_keys) == 1
        assert cache.kinds[list_keys[0]] == "list"
        assert listing["total"] == 0

        response = await client.patch(
            f"/api/db/tasks/{task['id']}", json={"title": "fresh", "version": 1}, headers=ADMIN
        )
        assert response.status_code == 200
        # invalidated before the answer: both generations moved on, the old key is dead
        assert cache.data[f"boss:task:{task['id']}:gen"] == b"2"
        assert cache.data["boss:tasks:list:gen"] == b"2"
        after = (await client.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
        assert after["title"] == "fresh"
        assert after["version"] == 2
        listing = (await client.get("/api/db/tasks", headers=ADMIN)).json()
        assert [t["title"] for t in listing["items"]] == ["fresh"]


async def test_read_after_write_on_another_instance(make_app: AppFactory) -> None:
    """Two app instances share the database and the cache (as with Redis)."""
    cache = DictCache()
    app_a, _ = make_app(CachePlugin(cache))
    app_b, _ = make_app(CachePlugin(cache))
    async with AsyncTestClient(app_a) as a, AsyncTestClient(app_b) as b:
        task = await create(a, title="one")
        assert (await b.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()["title"] == "one"
        assert (await b.get("/api/db/tasks", headers=ADMIN)).json()["total"] == 1
        await create(a, title="two")
        url = f"/api/db/tasks/{task['id']}/status"
        response = await a.post(url, json={"status": "in_progress", "version": 1}, headers=ADMIN)
        assert response.status_code == 200
        seen = (await b.get(f"/api/db/tasks/{task['id']}", headers=ADMIN)).json()
        assert seen["status"] == "in_progress"
        assert (await b.get("/api/db/tasks", headers=ADMIN)).json()["total"] == 2


class EventsPlugin(BossPlugin):
    """Listens to the task events, as the Discord and cache plugins do."""

    name = "eventsink"
    requires: ClassVar[tuple[str, ...]] = ("tasks",)

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        seen = self.seen

        @listener("task.created")
        async def created(**kwargs: Any) -> None:
            seen.append(("task.created", kwargs))

        @listener("task.updated")
        async def updated(**kwargs: Any) -> None:
            seen.append(("task.updated", kwargs))

        @listener("task.status_changed")
        async def status_changed(**kwargs: Any) -> None:
            seen.append(("task.status_changed", kwargs))

        app_config.listeners.extend([created, updated, status_changed])
        return app_config


async def test_domain_events(make_app: AppFactory) -> None:
    sink = EventsPlugin()
    app, _ = make_app(sink)
    async with AsyncTestClient(app) as client:
        task = await create(client, title="evented", headers=MEMBER)
        await client.patch(
            f"/api/db/tasks/{task['id']}", json={"priority": "urgent", "version": 1}, headers=ADMIN
        )
        await client.post(
            f"/api/db/tasks/{task['id']}/status",
            json={"status": "in_progress", "version": 2, "note": "go"},
            headers=ADMIN,
        )
        for _ in range(200):
            if len(sink.seen) == 3:
                break
            await asyncio.sleep(0.01)
    names = [name for name, _ in sink.seen]
    assert sorted(names) == ["task.created", "task.status_changed", "task.updated"]
    by_name = dict(sink.seen)
    created = by_name["task.created"]
    assert created["actor"] == "bob"
    assert created["task"].id == task["id"]
    updated = by_name["task.updated"]
    assert updated["changes"] == {"priority": ["medium", "urgent"]}
    assert updated["task"].priority == "urgent"
    changed = by_name["task.status_changed"]
    assert changed["old_status"] == "pending"
    assert changed["new_status"] == "in_progress"
    assert changed["note"] == "go"
    assert changed["actor"] == "ana"
    assert changed["task"].version == 3


async def test_no_listeners_is_fine(client: AsyncTestClient[Any]) -> None:
    assert (await create(client))["version"] == 1


async def test_service_for_other_plugins(make_app: AppFactory) -> None:
    from boss_tasks.service import TaskCreate

    app, tasks = make_app()
    with pytest.raises(RuntimeError, match="only while the app runs"):
        _ = tasks.service
    async with AsyncTestClient(app) as client:
        # the app runs in the test client's own event loop: call the service there
        create_task = partial(
            tasks.service.create,
            TaskCreate(title="from the AI", assignee="ana", priority="high"),
            actor="ai",
        )
        made = client.blocking_portal.call(create_task)
        assert made.id.startswith("TASK-")
        got = (await client.get(f"/api/db/tasks/{made.id}", headers=ADMIN)).json()
        assert got["title"] == "from the AI"
        trail = (await client.get(f"/api/db/audit/{made.id}", headers=ADMIN)).json()
        assert trail["entries"][0]["actor"] == "ai"


class GatedCache(DictCache):
    """Holds item writes until ``gate`` opens, to play a reader slower than a writer."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def set(self, key: str, value: bytes, *, kind: CacheKind = "item") -> None:
        if kind == "item" and not self.gate.is_set():
            self.waiting.set()
            await self.gate.wait()
        await super().set(key, value, kind=kind)


async def test_slow_reader_cannot_put_an_old_row_back(make_app: AppFactory) -> None:
    """Reader loads v1, a write commits v2, then the reader stores v1: v2 must still win."""
    cache = GatedCache()
    app, tasks = make_app(CachePlugin(cache))

    async def race() -> tuple[int, int]:
        from boss_tasks.service import TaskCreate

        service = tasks.service
        made = await service.create(TaskCreate(title="v1"), actor="test")
        reader = asyncio.ensure_future(service.get(made.id))
        await cache.waiting.wait()  # the reader has read v1 and wants to cache it
        await service.change_status(made.id, "in_progress", actor="test", version=1)
        cache.gate.set()
        slow = await reader
        fresh = await service.get(made.id)
        return slow.version, fresh.version

    async with AsyncTestClient(app) as client:
        slow_version, fresh_version = client.blocking_portal.call(race)
    assert slow_version == 1
    assert fresh_version == 2
