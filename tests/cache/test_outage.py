"""Redis going away and coming back, on a private redis-server stopped and restarted by PID."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.cache.builders import ManualClock, redis_store
from tests.cache.redis_server import RedisServer

pytestmark = pytest.mark.anyio


async def test_errors_read_as_misses_and_the_breaker_stops_calling_redis(
    redis_server: RedisServer,
) -> None:
    clock = ManualClock()
    store, metrics = redis_store(redis_server.url, clock=clock, failures=3, cooldown=5)
    try:
        await store.set("boss:task:1", b"v1")
        assert await store.get("boss:task:1") == b"v1"
        redis_server.stop()

        for _ in range(3):
            assert await store.get("boss:task:1") is None
        assert metrics.connection_errors == 3
        assert metrics.ops("get", "error") == 3
        assert store.breaker.state == "open"
        assert metrics.circuit_open == 1

        calls_before = metrics.redis_calls("get")
        for _ in range(20):  # open circuit: answered at once, Redis not called
            assert await store.get("boss:task:1") is None
            await store.set("boss:task:1", b"v2")
            assert await store.incr("boss:tasks:list:gen") is None
        assert metrics.redis_calls("get") == calls_before
        assert metrics.connection_errors == 3
        assert metrics.ops("get", "error") == 23
        assert metrics.ops("set", "error") == 20
        assert metrics.ops("incr", "error") == 20

        clock.advance(5)  # cool-down over: one probe, Redis still down, open again
        assert await store.get("boss:task:1") is None
        assert metrics.connection_errors == 4
        assert store.breaker.state == "open"

        redis_server.start()
        assert await store.get("boss:task:1") is None  # still in cool-down: not even tried
        clock.advance(5)
        await store.set("boss:task:1", b"v3")  # the probe succeeds and closes the circuit
        assert store.breaker.state == "closed"
        assert metrics.circuit_open == 0
        assert not store.dirty  # the probe bumped the epoch first: v1 is unreachable
        assert redis_server.client().get("boss:cache:epoch") == b"1"
        assert await store.get("boss:task:1") == b"v3"
    finally:
        await store.close()


async def test_lost_invalidation_makes_old_entries_unreachable(redis_server: RedisServer) -> None:
    store, metrics = redis_store(redis_server.url, failures=3)
    raw = redis_server.client()
    try:
        await store.set("boss:task:1", b"old version")
        raw.save()  # the restarted server comes back with this entry
        redis_server.stop()

        await store.delete("boss:task:1")  # the write's invalidation cannot reach Redis
        assert metrics.ops("delete", "error") == 1
        assert store.dirty

        redis_server.start()
        raw = redis_server.client()
        assert raw.get("boss:cache:0:boss:task:1") == b"old version"  # the data survived
        assert await store.get("boss:task:1") is None  # but the epoch moved past it
        assert raw.get("boss:cache:epoch") == b"1"
        assert not store.dirty
        assert metrics.redis_calls("epoch") == 1
        await store.set("boss:task:1", b"new version")
        assert await store.get("boss:task:1") == b"new version"
    finally:
        raw.close()
        await store.close()


async def test_any_failure_makes_the_next_call_start_a_fresh_epoch(
    redis_server: RedisServer,
) -> None:
    writer, _ = redis_store(redis_server.url)
    reader, _ = redis_store(redis_server.url)
    raw = redis_server.client()
    try:
        await writer.set("boss:task:3", b"old version")
        assert await reader.get("boss:task:3") == b"old version"
        raw.save()
        redis_server.stop()
        await writer.delete("boss:task:3")  # lost
        assert await reader.get("boss:task:3") is None  # the reader saw Redis fail too
        redis_server.start()
        # whoever calls first after the outage moves the epoch: the reader, here
        assert await reader.get("boss:task:3") is None
        assert redis_server.client().get("boss:cache:epoch") == b"1"
    finally:
        raw.close()
        await writer.close()
        await reader.close()


async def test_healing_protects_instances_that_saw_no_outage(redis_server: RedisServer) -> None:
    writer, _ = redis_store(redis_server.url)
    reader, _ = redis_store(redis_server.url)
    raw = redis_server.client()
    try:
        await writer.set("boss:task:9", b"old version")
        raw.save()
        redis_server.stop()
        await writer.delete("boss:task:9")  # lost
        redis_server.start()

        assert await writer.heal()  # what the background task does every second
        assert await reader.get("boss:task:9") is None
        assert not await writer.heal()  # nothing left to do
    finally:
        raw.close()
        await writer.close()
        await reader.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never answers (a hung Redis)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


async def test_a_hung_redis_costs_one_socket_timeout_per_call_until_the_circuit_opens(
    silent_port: int,
) -> None:
    clock = ManualClock()
    store, metrics = redis_store(
        f"redis://127.0.0.1:{silent_port}/0", clock=clock, failures=2, timeout=0.1
    )
    try:
        assert await store.get("boss:task:1") is None
        assert await store.get("boss:task:1") is None
        assert metrics.connection_errors == 2
        assert store.breaker.state == "open"
        assert await store.get("boss:task:1") is None
        assert metrics.connection_errors == 2
        # one call each: the get, then (Redis having failed) the epoch bump before the next
        assert metrics.redis_calls("get") == 1
        assert metrics.redis_calls("epoch") == 1
        with pytest.raises(RuntimeError, match="Redis unreachable"):
            await store.ping()
    finally:
        await store.close()
