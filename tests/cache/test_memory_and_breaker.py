"""The in-process store (TTLs, bound, counters) and the circuit breaker, on manual clocks."""

from __future__ import annotations

import pytest
from boss_cache import CircuitBreaker

from boss.cache import Cache
from tests.cache.builders import ManualClock, memory_store

pytestmark = pytest.mark.anyio


async def test_memory_store_expires_by_kind() -> None:
    clock = ManualClock()
    store, metrics = memory_store(clock, item_ttl=300, list_ttl=30)
    assert isinstance(store, Cache)
    await store.set("boss:task:1", b"item")
    await store.set("boss:tasks:list:0:x", b"list", kind="list")
    clock.advance(29)
    assert await store.get("boss:tasks:list:0:x") == b"list"
    clock.advance(2)
    assert await store.get("boss:tasks:list:0:x") is None
    assert await store.get("boss:task:1") == b"item"
    clock.advance(270)
    assert await store.get("boss:task:1") is None
    assert metrics.ops("get", "hit") == 2
    assert metrics.ops("get", "miss") == 2
    assert metrics.ops("set", "ok") == 2


async def test_memory_store_is_bounded_but_keeps_counters() -> None:
    clock = ManualClock()
    store, _ = memory_store(clock, max_entries=3)
    assert await store.incr("boss:tasks:list:gen") == 1
    for number in range(10):
        await store.set(f"boss:task:{number}", str(number).encode())
    assert len(store) == 3
    assert await store.get("boss:task:0") is None  # oldest out
    assert await store.get("boss:task:9") == b"9"
    assert await store.get("boss:tasks:list:gen") == b"1"
    assert await store.incr("boss:tasks:list:gen") == 2
    await store.delete("boss:task:9", "boss:tasks:list:gen")
    assert await store.get("boss:task:9") is None
    assert await store.incr("boss:tasks:list:gen") == 1


async def test_memory_store_is_always_ready() -> None:
    store, _ = memory_store(ManualClock())
    assert "in-process" in await store.ping()


def test_breaker_opens_after_consecutive_failures_only() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(3, 5.0, clock)
    assert not breaker.failure()
    assert not breaker.failure()
    breaker.success()  # resets the streak
    assert not breaker.failure()
    assert not breaker.failure()
    assert breaker.state == "closed"
    assert breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.retry_in == 5.0


def test_breaker_lets_one_probe_through_after_the_cool_down() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.failure()
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()
    assert breaker.state == "half_open"
    assert not breaker.allow()  # only one probe at a time
    assert breaker.failure()  # the probe failed: open again, new cool-down
    assert not breaker.allow()
    clock.advance(5)
    assert breaker.allow()
    assert breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_breaker_retries_a_probe_that_never_reported() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.failure()
    clock.advance(5)
    assert breaker.allow()  # the probe's caller was cancelled and never reports
    clock.advance(5)
    assert breaker.allow()
