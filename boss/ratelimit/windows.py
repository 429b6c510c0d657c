"""Fixed-window request counters: in-process, or in Redis so every worker shares one count.

A window starts at a client's first request and lasts ``window`` seconds; the counter key
expires with it. In Redis one Lua script does ``INCR`` and sets the expiry atomically, so
N workers and N replicas enforce one limit and no key can be left without an expiry. The
window is anchored in Redis's clock (the key's TTL), never in the replicas' clocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ("MemoryWindows", "RedisWindows", "Windows")

Clock = Callable[[], float]

_HIT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


class Windows(Protocol):
    """Counts one request for ``key``; answers the count so far and seconds until reset."""

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Add one request to ``key``'s current window; return ``(count, seconds_left)``."""
        ...

    def prune(self) -> None:
        """Drop expired windows (in-process only; Redis expires keys itself)."""
        ...


class MemoryWindows:
    """Per-process windows: correct for one worker; N workers allow N times the limit."""

    __slots__ = ("_clock", "_windows")

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, list[float]] = {}

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one request in ``key``'s window, opening a new window when the last expired."""
        now = self._clock()
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            self._windows[key] = [1, now + window]
            return 1, window
        entry[0] += 1
        return int(entry[0]), entry[1] - now

    def prune(self) -> None:
        """Forget windows that have ended."""
        now = self._clock()
        expired = [key for key, (_, reset_at) in self._windows.items() if reset_at <= now]
        for key in expired:
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


class RedisWindows:
    """Windows in Redis under ``prefix``: one atomic Lua call (one round trip) per request."""

    __slots__ = ("_prefix", "_redis", "_script")

    def __init__(self, redis: Redis, prefix: str = "boss:ratelimit:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """INCR the window counter and set its expiry on the first hit, atomically."""
        count, ttl_ms = await self._script(keys=[self._prefix + key], args=[int(window * 1000)])
        return int(count), int(ttl_ms) / 1000.0

    def prune(self) -> None:
        """Nothing to do: Redis expires the keys."""
