"""Build cache stores with a fresh metric registry each, plus readers for their metrics."""

from __future__ import annotations

from boss_cache import CircuitBreaker, MemoryCache, RedisCache
from boss_cache.fragments import CACHE_METRICS
from boss_cache.instruments import CacheInstruments
from boss_cache.redis_cache import redis_client
from prometheus_client import CollectorRegistry

from boss.metrics_registry import materialise

__all__ = ("ManualClock", "Metrics", "memory_store", "redis_store")


class ManualClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Metrics:
    """Reads the cache plugin's samples from its registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def ops(self, operation: str, result: str) -> float:
        value = self.registry.get_sample_value(
            "cache_operations_total", {"operation": operation, "result": result}
        )
        return value or 0.0

    def redis_calls(self, operation: str) -> float:
        value = self.registry.get_sample_value(
            "redis_operation_duration_seconds_count", {"operation": operation}
        )
        return value or 0.0

    @property
    def connection_errors(self) -> float:
        return self.registry.get_sample_value("redis_connection_errors_total") or 0.0

    @property
    def circuit_open(self) -> float:
        return self.registry.get_sample_value("cache_circuit_open") or 0.0


def _instruments() -> tuple[CacheInstruments, Metrics]:
    registry = CollectorRegistry()
    handles = materialise("cache", CACHE_METRICS, registry)
    return CacheInstruments(handles), Metrics(registry)


def redis_store(
    url: str,
    *,
    clock: ManualClock | None = None,
    failures: int = 3,
    cooldown: float = 5.0,
    timeout: float = 0.5,
    item_ttl: float = 300,
    list_ttl: float = 30,
) -> tuple[RedisCache, Metrics]:
    """A ``RedisCache`` on ``url`` with its own registry (and a manual breaker clock)."""
    instruments, metrics = _instruments()
    breaker = (
        CircuitBreaker(failures, cooldown, clock)
        if clock is not None
        else CircuitBreaker(failures, cooldown)
    )
    store = RedisCache(
        redis_client(url, timeout),
        prefix="boss:cache:",
        item_ttl=item_ttl,
        list_ttl=list_ttl,
        counter_ttl=86_400,
        instruments=instruments,
        breaker=breaker,
    )
    return store, metrics


def memory_store(
    clock: ManualClock, *, max_entries: int = 100, item_ttl: float = 300, list_ttl: float = 30
) -> tuple[MemoryCache, Metrics]:
    """A ``MemoryCache`` on a manual clock with its own registry."""
    instruments, metrics = _instruments()
    store = MemoryCache(
        item_ttl=item_ttl,
        list_ttl=list_ttl,
        max_entries=max_entries,
        instruments=instruments,
        clock=clock,
    )
    return store, metrics
