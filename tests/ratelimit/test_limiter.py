"""The limiter's pieces: client identity behind proxies, route groups, notes and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from boss.core_plugin import CorePlugin
from boss.metrics_registry import materialise
from boss.ratelimit import RateLimiter
from boss.ratelimit.fragments import RATE_LIMIT_ALERTS, RATE_LIMIT_RULE_TESTS
from boss.settings import load_settings
from tests.cache.builders import ManualClock
from tests.cache.promtool_rules import run_rule_tests

pytestmark = pytest.mark.anyio


def limiter_for(
    env: dict[str, str], clock: ManualClock | None = None
) -> tuple[RateLimiter, CollectorRegistry]:
    registry = CollectorRegistry()
    handles = materialise("core", CorePlugin.metrics, registry)
    settings = load_settings(env)
    limiter = RateLimiter(
        settings,
        violations=handles.counter("rate_limit_violations_total"),
        near_limit=handles.gauge("rate_limit_near_limit"),
        backend_errors=handles.counter("rate_limit_backend_errors_total"),
        clock=clock or ManualClock(),
    )
    return limiter, registry


def scope(client: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"client": (client, 40000), "headers": headers}


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    limiter, _ = limiter_for({"BOSS_RATE_LIMIT__TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.7"})
    assert limiter.client_address(scope("203.0.113.5", "1.2.3.4")) == "203.0.113.5"
    assert limiter.client_address(scope("10.1.2.3", "198.51.100.9")) == "198.51.100.9"
    # a client cannot pick its identity: the rightmost untrusted hop counts
    assert limiter.client_address(scope("10.1.2.3", "6.6.6.6, 198.51.100.9")) == "198.51.100.9"
    assert limiter.client_address(scope("10.1.2.3", "198.51.100.9, 192.0.2.7")) == "198.51.100.9"
    assert limiter.client_address(scope("10.1.2.3")) == "10.1.2.3"
    untrusting, _ = limiter_for({})
    assert untrusting.client_address(scope("10.1.2.3", "198.51.100.9")) == "10.1.2.3"


def test_route_groups() -> None:
    limiter, _ = limiter_for(
        {"BOSS_RATE_LIMIT__REQUESTS": "50", "BOSS_RATE_LIMIT__GROUPS": "/api/ai=5,/api=20"}
    )
    assert limiter.group_of("/api/tasks/{task_id}") == ("/api", 20)
    assert limiter.group_of("/api/ai/intake") == ("/api/ai", 5)
    assert limiter.group_of("/api/aibook") == ("/api", 20)
    assert limiter.group_of("/schema/openapi.json") == ("/schema/openapi.json", 50)
    plain, _ = limiter_for({})
    assert plain.group_of("/api/tasks/{task_id}/history") == ("/api/tasks", 600)


async def test_over_the_limit_is_refused_locally_until_the_window_resets() -> None:
    clock = ManualClock()
    limiter, registry = limiter_for(
        {"BOSS_RATE_LIMIT__REQUESTS": "5", "BOSS_RATE_LIMIT__WINDOW": "10"}, clock
    )
    decisions = [await limiter.check("key:bob", "/api/tasks") for _ in range(6)]
    assert [d.allowed for d in decisions if d] == [True] * 5 + [False]
    assert registry.get_sample_value("rate_limit_near_limit") == 1  # 4 of 5 is 80%
    clock.advance(3)
    refused = await limiter.check("key:bob", "/api/tasks")
    assert refused is not None
    assert not refused.allowed
    assert refused.reset_seconds == 7
    violations = {"endpoint": "/api/tasks"}
    assert registry.get_sample_value("rate_limit_violations_total", violations) == 2
    clock.advance(7)
    again = await limiter.check("key:bob", "/api/tasks")
    assert again is not None
    assert again.allowed
    assert again.remaining == 4
    limiter.prune()
    assert registry.get_sample_value("rate_limit_near_limit") == 0


async def test_fails_open_without_waiting_on_a_dead_redis() -> None:
    clock = ManualClock()
    limiter, registry = limiter_for(
        {"BOSS_REDIS__URL": "redis://127.0.0.1:1/0", "BOSS_RATE_LIMIT__REQUESTS": "1"}, clock
    )
    try:
        assert await limiter.check("key:bob", "/api/tasks") is None
        assert await limiter.check("key:bob", "/api/tasks") is None  # cool-down: not tried
        assert registry.get_sample_value("rate_limit_backend_errors_total") == 1
        clock.advance(2)
        assert await limiter.check("key:bob", "/api/tasks") is None
        assert registry.get_sample_value("rate_limit_backend_errors_total") == 2
    finally:
        await limiter.close()


def test_alert_rule_tests_pass_in_promtool(tmp_path: Path) -> None:
    output = run_rule_tests("core", RATE_LIMIT_ALERTS, RATE_LIMIT_RULE_TESTS, tmp_path)
    assert "SUCCESS" in output
    names = {alert.name for alert in CorePlugin.alerts}
    assert {"HighRateLimitViolations", "RateLimitBackendErrors"} <= names
    for alert in RATE_LIMIT_ALERTS:
        cases = [c for t in RATE_LIMIT_RULE_TESTS for c in t.alert_rule_test]
        cases = [c for c in cases if c.alertname == alert.name]
        assert any(c.exp_alerts for c in cases)
        assert any(not c.exp_alerts for c in cases)
        assert (Path(__file__).resolve().parents[2] / "boss/runbooks" / alert.runbook_page).exists()


async def test_concurrent_hits_share_script_calls_and_count_exactly(redis_url: str) -> None:
    import asyncio

    from boss_cache.redis_cache import redis_client

    from boss.ratelimit.windows import RedisWindows

    client = redis_client(redis_url, 2.0)
    windows = RedisWindows(client, "test:rl:")
    try:
        results = await asyncio.gather(
            *(windows.hit("same", 60) for _ in range(300)),
            *(windows.hit(f"key{n}", 30) for n in range(20)),
        )
        ttl = await client.pttl("test:rl:key3")
    finally:
        await client.aclose()
    assert sorted(count for count, _ in results[:300]) == list(range(1, 301))
    assert all(count == 1 and 0 < reset <= 30 for count, reset in results[300:])
    assert 0 < ttl <= 30_000


async def test_a_failed_batch_fails_every_waiting_hit() -> None:
    import asyncio

    from boss_cache.redis_cache import redis_client
    from redis.exceptions import ConnectionError as RedisConnectionError

    from boss.ratelimit.windows import RedisWindows

    client = redis_client("redis://127.0.0.1:1/0", 0.2)
    windows = RedisWindows(client)
    try:
        results = await asyncio.gather(
            *(windows.hit(f"k{n}", 60) for n in range(5)), return_exceptions=True
        )
    finally:
        await client.aclose()
    assert all(isinstance(result, RedisConnectionError) for result in results)
