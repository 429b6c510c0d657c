"""The Redis store on the machine's real Redis: the Cache protocol, TTL kinds and metrics."""

from __future__ import annotations

import pytest
import redis

from boss.cache import Cache
from tests.cache.builders import redis_store

pytestmark = pytest.mark.anyio


async def test_get_set_delete_incr_round_trip(redis_url: str) -> None:
    store, metrics = redis_store(redis_url)
    try:
        assert isinstance(store, Cache)
        assert await store.get("boss:task:1") is None
        await store.set("boss:task:1", b'{"id": 1}')
        assert await store.get("boss:task:1") == b'{"id": 1}'
        await store.set("boss:task:2", b"two")
        await store.delete("boss:task:1", "boss:task:2")
        assert await store.get("boss:task:1") is None
        assert await store.get("boss:task:2") is None
        assert await store.incr("boss:tasks:list:gen") == 1
        assert await store.incr("boss:tasks:list:gen") == 2
        assert await store.get("boss:tasks:list:gen") == b"2"
    finally:
        await store.close()
    assert metrics.ops("get", "hit") == 2
    assert metrics.ops("get", "miss") == 3
    assert metrics.ops("set", "ok") == 2
    assert metrics.ops("delete", "ok") == 1
    assert metrics.ops("incr", "ok") == 2
    assert metrics.ops("get", "error") == 0
    assert metrics.redis_calls("get") == 5
    assert metrics.connection_errors == 0


async def test_ttl_follows_the_kind(redis_url: str) -> None:
    store, _ = redis_store(redis_url, item_ttl=300, list_ttl=30)
    raw = redis.Redis.from_url(redis_url)
    try:
        await store.set("boss:task:7", b"item")
        await store.set("boss:tasks:list:0:abc", b"list", kind="list")
        await store.incr("boss:tasks:list:gen")
        item_ttl = raw.pttl("boss:cache:0:boss:task:7")
        list_ttl = raw.pttl("boss:cache:0:boss:tasks:list:0:abc")
        counter_ttl = raw.pttl("boss:cache:0:boss:tasks:list:gen")
    finally:
        await store.close()
        raw.close()
    assert 250_000 < item_ttl <= 300_000
    assert 20_000 < list_ttl <= 30_000
    assert 80_000_000 < counter_ttl <= 86_400_000  # counters outlive every cached list


async def test_keys_live_under_the_epoch_in_redis(redis_url: str) -> None:
    store, _ = redis_store(redis_url)
    raw = redis.Redis.from_url(redis_url)
    try:
        await store.set("boss:task:1", b"v1")
        raw.set("boss:cache:epoch", 5)  # another instance bumped the epoch
        assert await store.get("boss:task:1") is None
        await store.set("boss:task:1", b"v2")
        assert raw.get("boss:cache:5:boss:task:1") == b"v2"
        assert raw.get("boss:cache:0:boss:task:1") == b"v1"
    finally:
        await store.close()
        raw.close()


async def test_empty_delete_is_a_no_op(redis_url: str) -> None:
    store, metrics = redis_store(redis_url)
    try:
        await store.delete()
    finally:
        await store.close()
    assert metrics.redis_calls("delete") == 0
