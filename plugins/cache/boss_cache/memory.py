"""The in-process cache: the embedded default when no Redis is configured (one process)."""

from __future__ import annotations

import time
from collections.abc import Callable

from boss.cache import CacheKind
from boss_cache.instruments import CacheInstruments

__all__ = ("MemoryCache",)


class MemoryCache:
    """A TTL dictionary bounded by ``max_entries`` (oldest first out); counters never evicted.

    Counters (``incr``) live apart from cached values so that eviction can never restart a
    generation number while entries cached under its old value are still readable.
    """

    __slots__ = ("_clock", "_counters", "_entries", "_max", "_metrics", "_ttl")

    def __init__(
        self,
        *,
        item_ttl: float,
        list_ttl: float,
        max_entries: int,
        instruments: CacheInstruments,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl: dict[str, float] = {"item": item_ttl, "list": list_ttl}
        self._max = max_entries
        self._metrics = instruments
        self._clock = clock
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._counters: dict[str, int] = {}

    async def get(self, key: str) -> bytes | None:
        """The cached value while its TTL lasts (counters read as their decimal bytes)."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self._metrics.result("get", "hit")
                return entry[1]
            del self._entries[key]
        counter = self._counters.get(key)
        if counter is not None:
            self._metrics.result("get", "hit")
            return str(counter).encode()
        self._metrics.result("get", "miss")
        return None

    async def set(self, key: str, value: bytes, *, kind: CacheKind = "item") -> None:
        """Store ``value`` for the TTL of ``kind``, evicting expired then oldest entries."""
        now = self._clock()
        self._entries.pop(key, None)
        self._entries[key] = (now + self._ttl[kind], value)
        if len(self._entries) > self._max:
            for stale in [k for k, (until, _) in self._entries.items() if until <= now]:
                del self._entries[stale]
            while len(self._entries) > self._max:
                del self._entries[next(iter(self._entries))]
        self._metrics.result("set", "ok")

    async def delete(self, *keys: str) -> None:
        """Remove ``keys`` (values and counters)."""
        for key in keys:
            self._entries.pop(key, None)
            self._counters.pop(key, None)
        self._metrics.result("delete", "ok")

    async def incr(self, key: str) -> int | None:
        """Increment the counter ``key`` (starting from 0)."""
        value = self._counters.get(key, 0) + 1
        self._counters[key] = value
        self._metrics.result("incr", "ok")
        return value

    async def ping(self) -> str:
        """Always ready: the store is this process's memory."""
        return f"in-process ({len(self._entries)} entries)"

    async def start(self) -> None:
        """Nothing to start."""

    async def close(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._entries)
