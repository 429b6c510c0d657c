"""boss's cache plugin: the core ``Cache`` protocol on Redis, in-process without Redis.

It registers its store with ``context.services.register(Cache, store)``; the tasks plugin
looks it up and does cache-aside reads and invalidation. Redis trouble never fails a
request: errors are counted and read as misses, a circuit breaker skips a dead Redis,
``/health/ready`` names the cache as failing, and lost invalidations are made harmless by
an epoch bump once Redis answers again (see ``boss_cache.redis_cache``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from boss import AlertRule, BossPlugin, Cache, MetricSpec, Panel, PluginContext, RuleTest
from boss_cache.breaker import CircuitBreaker
from boss_cache.fragments import CACHE_ALERTS, CACHE_METRICS, CACHE_PANELS, CACHE_RULE_TESTS
from boss_cache.instruments import CacheInstruments
from boss_cache.memory import MemoryCache
from boss_cache.redis_cache import RedisCache, redis_client
from boss_cache.settings import CacheSettings

__all__ = ("CachePlugin", "CacheSettings", "CircuitBreaker", "MemoryCache", "RedisCache")


class CachePlugin(BossPlugin):
    """Offers a ``boss.cache.Cache``: Redis when ``BOSS_REDIS__URL`` is set, else in-process."""

    name = "cache"
    title = "Cache (Redis)"
    settings_type: ClassVar[type[Any] | None] = CacheSettings
    metrics: ClassVar[tuple[MetricSpec, ...]] = CACHE_METRICS
    alerts: ClassVar[tuple[AlertRule, ...]] = CACHE_ALERTS
    rule_tests: ClassVar[tuple[RuleTest, ...]] = CACHE_RULE_TESTS
    panels: ClassVar[tuple[Panel, ...]] = CACHE_PANELS

    store: RedisCache | MemoryCache

    def setup(self, context: PluginContext) -> None:
        """Build the store from the settings and offer it to the other plugins as ``Cache``."""
        super().setup(context)
        config: CacheSettings = context.config or CacheSettings()
        instruments = CacheInstruments(context.metrics)
        redis = context.settings.redis
        if redis.url:
            self.store = RedisCache(
                redis_client(redis.url, redis.socket_timeout),
                prefix=config.prefix,
                item_ttl=config.item_ttl,
                list_ttl=config.list_ttl,
                counter_ttl=config.counter_ttl,
                instruments=instruments,
                breaker=CircuitBreaker(config.breaker_failures, config.breaker_cooldown),
            )
        else:
            self.store = MemoryCache(
                item_ttl=config.item_ttl,
                list_ttl=config.list_ttl,
                max_entries=config.max_entries,
                instruments=instruments,
            )
        instruments.circuit_open.set(0)
        context.services.register(Cache, self.store)  # type: ignore[type-abstract]

    def on_app_init(self, app_config: Any) -> Any:
        """Start the store's background work with the app; close Redis when it stops."""
        app_config.on_startup.append(self.store.start)
        app_config.on_shutdown.append(self.store.close)
        return app_config

    async def ping(self) -> str:
        """Ready when Redis answers ``PING`` (always, for the in-process store)."""
        return await self.store.ping()
