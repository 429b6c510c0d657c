"""The plugin inside a boss app: entry point, settings, services, readiness during an outage."""

from __future__ import annotations

import pytest
from boss_cache import CachePlugin, MemoryCache, RedisCache
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.cache import Cache
from boss.loader import discover
from boss.settings import SettingsError, load_settings
from tests.cache.redis_server import RedisServer
from tests.conftest import ADMIN

pytestmark = pytest.mark.anyio


def test_loads_through_its_entry_point() -> None:
    found = {item.name: item for item in discover(())}
    assert found["cache"].entry_point == "cache = boss_cache:CachePlugin"
    assert found["cache"].distribution == "boss-cache"


def test_bad_ttl_names_the_variable(base_env: dict[str, str]) -> None:
    settings = load_settings({**base_env, "BOSS_CACHE__ITEM_TTL": "soon"})
    with pytest.raises(SettingsError, match="BOSS_CACHE__ITEM_TTL"):
        create_app(settings, plugins=[CachePlugin()])


async def test_in_process_store_without_redis(base_env: dict[str, str]) -> None:
    plugin = CachePlugin()
    env = {**base_env, "BOSS_CACHE__LIST_TTL": "7"}
    app = create_app(load_settings(env), plugins=[plugin])
    assert isinstance(app.state["services"].get(Cache), MemoryCache)
    assert app.state["services"].get(Cache) is plugin.store
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready", headers=ADMIN)
    assert ready.status_code == 200, ready.text
    assert "in-process" in ready.json()["details"]["cache"]


async def test_ready_names_the_cache_while_redis_is_down(
    base_env: dict[str, str], redis_server: RedisServer
) -> None:
    plugin = CachePlugin()
    env = {**base_env, "BOSS_REDIS__URL": redis_server.url, "BOSS_RATE_LIMIT__ENABLED": "false"}
    app = create_app(load_settings(env), plugins=[plugin])
    assert isinstance(plugin.store, RedisCache)
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready", headers=ADMIN)
        assert ready.status_code == 200, ready.text
        assert ready.json()["details"]["cache"] == f"redis 127.0.0.1:{redis_server.port}/0"

        redis_server.stop()
        ready = await client.get("/health/ready", headers=ADMIN)
        assert ready.status_code == 503
        assert "Redis unreachable" in ready.json()["failing"]["cache"]
        assert (await client.get("/health")).status_code == 200

        redis_server.start()
        ready = await client.get("/health/ready", headers=ADMIN)
        assert ready.status_code == 200, ready.text
        metrics = (await client.get("/metrics")).text
    errors = [
        line for line in metrics.splitlines() if line.startswith("redis_connection_errors_total ")
    ]
    assert float(errors[0].split()[1]) >= 1  # the failed ping (and maybe background heals)
