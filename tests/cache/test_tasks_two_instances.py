"""Read after write never returns the old task: two apps (tasks + cache) sharing one Redis
and one PostgreSQL database, writes on one, reads on the other — also across an outage.
"""

from __future__ import annotations

from typing import Any

import pytest
from boss_cache import CachePlugin
from boss_tasks import TasksPlugin
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.settings import load_settings
from tests.cache.redis_server import RedisServer
from tests.conftest import ADMIN, MEMBER

pytestmark = pytest.mark.anyio


def tasks_app(env: dict[str, str]) -> Any:
    return create_app(load_settings(env), plugins=[TasksPlugin(), CachePlugin()])


def cache_hits(metrics: str) -> float:
    prefix = 'cache_operations_total{operation="get",result="hit"} '
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(prefix))


async def read(client: AsyncTestClient[Any], task_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/db/tasks/{task_id}", headers=MEMBER)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def listed(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/api/db/tasks", headers=MEMBER)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


def env_for(base_env: dict[str, str], db_url: str, redis_url: str) -> dict[str, str]:
    return {
        **base_env,
        "BOSS_DATABASE__URL": db_url,
        "BOSS_REDIS__URL": redis_url,
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_TASKS__KNOWN_ASSIGNEES": "ana,bob",
    }


async def test_a_write_on_one_instance_is_read_on_the_other(
    base_env: dict[str, str], pg_tasks: str, redis_url: str
) -> None:
    env = env_for(base_env, pg_tasks, redis_url)
    async with AsyncTestClient(tasks_app(env)) as a, AsyncTestClient(tasks_app(env)) as b:
        created = await a.post("/api/db/tasks", json={"title": "v1"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        version = 1
        for round_number in range(2, 7):
            # B reads twice: the second read comes from the shared cache
            assert (await read(b, task_id))["version"] == version
            assert (await read(b, task_id))["version"] == version
            assert (await listed(b))[task_id]["version"] == version
            assert (await listed(b))[task_id]["version"] == version
            writer = a if round_number % 2 == 0 else b
            answer = await writer.patch(
                f"/api/db/tasks/{task_id}",
                json={"title": f"v{round_number}", "version": version},
                headers=MEMBER,
            )
            assert answer.status_code == 200, answer.text
            version = answer.json()["version"]
            for reader in (b, a):  # the next read, on either instance, sees the write
                assert (await read(reader, task_id))["title"] == f"v{round_number}"
                assert (await listed(reader))[task_id]["title"] == f"v{round_number}"
        moved = await a.post(
            f"/api/db/tasks/{task_id}/status",
            json={"status": "in_progress", "version": version},
            headers=MEMBER,
        )
        assert moved.status_code == 200, moved.text
        assert (await read(b, task_id))["status"] == "in_progress"
        assert (await listed(b))[task_id]["status"] == "in_progress"
        hits_b = cache_hits((await b.get("/metrics")).text)
    assert hits_b >= 10  # the reads really went through the shared cache


async def test_no_old_task_after_redis_comes_back_with_its_data(
    base_env: dict[str, str], pg_tasks: str, redis_server: RedisServer
) -> None:
    env = env_for(base_env, pg_tasks, redis_server.url)
    async with AsyncTestClient(tasks_app(env)) as a, AsyncTestClient(tasks_app(env)) as b:
        created = await a.post("/api/db/tasks", json={"title": "before"}, headers=ADMIN)
        task_id = created.json()["id"]
        assert (await read(b, task_id))["title"] == "before"  # cached now
        assert (await listed(b))[task_id]["title"] == "before"
        redis_server.client().save()  # Redis will come back with these entries
        redis_server.stop()

        answer = await a.patch(
            f"/api/db/tasks/{task_id}", json={"title": "during", "version": 1}, headers=MEMBER
        )
        assert answer.status_code == 200, answer.text  # written; invalidation lost
        assert (await read(b, task_id))["title"] == "during"  # from the database
        ready = await b.get("/health/ready")
        assert ready.status_code == 503
        assert "cache" in ready.json()["failing"]
        assert (await b.get("/health")).status_code == 200

        redis_server.start()
        for reader in (b, a, b):
            assert (await read(reader, task_id))["title"] == "during"
            assert (await listed(reader))[task_id]["title"] == "during"
        assert (await b.get("/health/ready")).status_code == 200
