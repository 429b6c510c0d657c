"""The Redis cache: cache-aside storage shared by every worker and replica.

Never raises: a failed call is counted (``redis_connection_errors_total``, result
``error``) and answered as a miss. A circuit breaker skips Redis for a cool-down after a
few consecutive failures, so a dead Redis costs requests nothing.

Staleness after an outage: an invalidation (``delete``/``incr``) that failed or was skipped
while Redis was unreachable could leave an old entry readable once Redis is back (a Redis
that restarts with its data, or a network split that hid it from one instance only). Every
key therefore lives under an epoch, ``<prefix><epoch>:<key>``, with the epoch itself stored
in Redis (``<prefix>epoch``) and resolved inside one Lua script per call, so every instance
sees the same epoch at no extra round trip. An instance that saw any Redis failure (or
skipped an invalidation while its circuit was open) bumps the epoch before its next call
once Redis answers, and a background task tries that every second: everything cached
earlier becomes unreachable at once (and expires by its TTL), whichever instance reads it.
The price is an empty cache after each outage or blip; correctness wins over hit rate.
Residual window: an instance that saw no failure at all may read an old entry for up to
about a second after Redis returns, until a failing instance's background bump lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from boss.cache import CacheKind
from boss_cache.breaker import CircuitBreaker
from boss_cache.instruments import CacheInstruments

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ("HEAL_INTERVAL", "RedisCache", "redis_client")

HEAL_INTERVAL = 1.0
"""Seconds between background attempts to bump the epoch after a lost invalidation."""

logger = logging.getLogger("boss.cache")
# RuntimeError: redis-py on uvloop writes to a transport Redis just closed ("unable to
# perform operation on <TCPTransport closed=True>") when the server dies mid-connect.
_ERRORS = (RedisError, OSError, TimeoutError, RuntimeError)
_INVALIDATIONS = frozenset({"delete", "incr"})
_FAILED: Any = object()

_PREAMBLE = "local k = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ':'\n"
_GET = _PREAMBLE + "return redis.call('GET', k .. ARGV[2])"
_SET = _PREAMBLE + "redis.call('SET', k .. ARGV[2], ARGV[3], 'PX', ARGV[4])\nreturn 1"
_DELETE = _PREAMBLE + (
    "local n = 0\nfor i = 2, #ARGV do n = n + redis.call('DEL', k .. ARGV[i]) end\nreturn n"
)
_INCR = _PREAMBLE + (
    "local n = redis.call('INCR', k .. ARGV[2])\n"
    "redis.call('PEXPIRE', k .. ARGV[2], ARGV[3])\nreturn n"
)


def redis_client(url: str, timeout: float) -> Redis:
    """A client that fails fast: ``timeout`` for connect and reads, no retries."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


class RedisCache:
    """``boss.cache.Cache`` on Redis, with a circuit breaker and an epoch for lost invalidations."""

    __slots__ = (
        "_breaker",
        "_counter_ttl_ms",
        "_dirty",
        "_epoch_key",
        "_healer",
        "_location",
        "_metrics",
        "_prefix",
        "_redis",
        "_scripts",
        "_ttl_ms",
    )

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        item_ttl: float,
        list_ttl: float,
        counter_ttl: float,
        instruments: CacheInstruments,
        breaker: CircuitBreaker,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._epoch_key = prefix + "epoch"
        self._ttl_ms = {"item": int(item_ttl * 1000), "list": int(list_ttl * 1000)}
        self._counter_ttl_ms = int(counter_ttl * 1000)
        self._metrics = instruments
        self._breaker = breaker
        self._dirty = False
        self._healer: asyncio.Task[None] | None = None
        kwargs = redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', 6379)}"
        self._location = f"redis {where}/{kwargs.get('db', 0)}"
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(source)
            for name, source in (("get", _GET), ("set", _SET), ("delete", _DELETE), ("incr", _INCR))
        }

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker guarding Redis."""
        return self._breaker

    @property
    def dirty(self) -> bool:
        """Whether an invalidation was lost and the epoch must be bumped before the next call."""
        return self._dirty

    async def get(self, key: str) -> bytes | None:
        """The cached bytes; ``None`` on a miss, a Redis failure or an open circuit."""
        raw = await self._call("get", key)
        if raw is _FAILED:
            return None
        self._metrics.result("get", "hit" if raw is not None else "miss")
        return bytes(raw) if raw is not None else None

    async def set(self, key: str, value: bytes, *, kind: CacheKind = "item") -> None:
        """Store ``value`` for the TTL of ``kind``."""
        if await self._call("set", key, value, self._ttl_ms[kind]) is not _FAILED:
            self._metrics.result("set", "ok")

    async def delete(self, *keys: str) -> None:
        """Remove ``keys``; a failure marks the cache dirty (epoch bump when Redis is back)."""
        if keys and await self._call("delete", *keys) is not _FAILED:
            self._metrics.result("delete", "ok")

    async def incr(self, key: str) -> int | None:
        """Increment the counter ``key`` (it expires ``counter_ttl`` after its last increment)."""
        value = await self._call("incr", key, self._counter_ttl_ms)
        if value is _FAILED:
            return None
        self._metrics.result("incr", "ok")
        return int(value)

    async def _call(self, operation: str, *args: Any) -> Any:
        if not self._breaker.allow():
            self._lost(operation)
            return _FAILED
        try:
            if self._dirty:
                await self._bump_epoch()
            script = self._scripts[operation]
            result = await self._timed(
                operation, script(keys=[self._epoch_key], args=[self._prefix, *args])
            )
        except _ERRORS as exc:
            self._failed(exc)
            self._lost(operation)
            return _FAILED
        self._succeeded()
        return result

    async def _bump_epoch(self) -> None:
        await self._timed("epoch", self._redis.incr(self._epoch_key))
        self._dirty = False
        logger.warning("cache: bumped the epoch; entries cached before an outage are unreachable")

    async def heal(self) -> bool:
        """Bump the epoch now if Redis failed since the last bump; True if done.

        Runs every second in the background (past the breaker: a probe a second costs no
        request anything), so that other instances stop reading entries this one failed to
        invalidate as soon as Redis answers, not at this one's next call.
        """
        if not self._dirty:
            return False
        try:
            await self._bump_epoch()
        except _ERRORS as exc:
            self._failed(exc)
            return False
        self._succeeded()
        return True

    async def _heal_forever(self) -> None:
        while True:
            await asyncio.sleep(HEAL_INTERVAL)
            await self.heal()

    async def start(self) -> None:
        """App start-up: run ``heal`` every second."""
        if self._healer is None:
            self._healer = asyncio.get_running_loop().create_task(self._heal_forever())

    async def _timed(self, operation: str, call: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await call
        finally:
            self._metrics.duration(operation, time.perf_counter() - started)

    def _lost(self, operation: str) -> None:
        self._metrics.result(operation, "error")
        if operation in _INVALIDATIONS:
            self._dirty = True

    def _failed(self, exc: BaseException) -> None:
        # Whatever failed, other writes may have lost their invalidations meanwhile (ours or,
        # during the same outage, another instance's): start again from a fresh epoch.
        self._dirty = True
        self._metrics.connection_errors.inc()
        if self._breaker.failure():
            self._metrics.circuit_open.set(1)
            logger.warning(
                "cache: Redis failing (%s: %s); circuit open for %g s",
                type(exc).__name__,
                exc,
                self._breaker.cooldown,
            )

    def _succeeded(self) -> None:
        if self._breaker.success():
            self._metrics.circuit_open.set(0)
            logger.info("cache: Redis answers again; circuit closed")

    async def ping(self) -> str:
        """Readiness: Redis answers ``PING`` (this also heals an open circuit)."""
        try:
            await self._timed("ping", self._redis.ping())
        except _ERRORS as exc:
            self._failed(exc)
            raise RuntimeError(f"Redis unreachable: {type(exc).__name__}: {exc}") from None
        self._succeeded()
        return self._location

    async def close(self) -> None:
        """Stop healing and close the connection pool (app shutdown)."""
        if self._healer is not None:
            self._healer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._healer
            self._healer = None
        await self._redis.aclose()
