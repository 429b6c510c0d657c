"""Rate limiting through whole apps: shared Redis, in-process, headers, groups, fail open."""

from __future__ import annotations

import time

import anyio
import pytest
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.settings import SettingsError, load_settings
from tests.cache.redis_server import RedisServer
from tests.conftest import ADMIN, MEMBER
from tests.ratelimit.probe_plugin import ProbePlugin

pytestmark = pytest.mark.anyio


def app_for(env: dict[str, str], **limits: str):  # type: ignore[no-untyped-def]
    extra = {f"BOSS_RATE_LIMIT__{name.upper()}": value for name, value in limits.items()}
    return create_app(load_settings({**env, **extra}), plugins=[ProbePlugin()])


def sample(metrics_text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in an exposition."""
    found = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith((name + " ", name + "{"))
    ]
    assert found, f"no sample {name!r}"
    return sum(found)


async def test_two_apps_sharing_redis_allow_exactly_the_limit_between_them(
    base_env: dict[str, str], redis_url: str
) -> None:
    env = {**base_env, "BOSS_REDIS__URL": redis_url}
    first, second = app_for(env, requests="7"), app_for(env, requests="7")
    statuses: list[int] = []
    async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
        for number in range(20):
            client = a if number % 2 == 0 else b
            response = await client.get(f"/api/things/{number}", headers=MEMBER)
            statuses.append(response.status_code)
        # another key and another route group have their own buckets
        assert (await a.get("/api/things", headers=ADMIN)).status_code == 200
        assert (await b.get("/api/other", headers=MEMBER)).status_code == 200
        violations_a = sample((await a.get("/metrics")).text, "rate_limit_violations_total")
        violations_b = sample((await b.get("/metrics")).text, "rate_limit_violations_total")
    assert statuses[:7] == [200] * 7
    assert statuses[7:] == [429] * 13
    assert violations_a + violations_b == 13


async def test_in_process_limits_and_headers(base_env: dict[str, str]) -> None:
    app = app_for(base_env, requests="3", window="60")
    async with AsyncTestClient(app) as client:
        answers = [await client.get("/api/things/1", headers=MEMBER) for _ in range(4)]
        metrics = (await client.get("/metrics")).text
        health = await client.get("/health")
    remaining = [r.headers["RateLimit-Remaining"] for r in answers]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert remaining == ["2", "1", "0", "0"]
    assert {r.headers["RateLimit-Limit"] for r in answers} == {"3"}
    assert all(1 <= int(r.headers["RateLimit-Reset"]) <= 60 for r in answers)
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.json()
    assert body["status"] == 429
    assert body["title"] == "Too Many Requests"
    assert "3 requests per 60 s" in body["detail"]
    assert body["limit"] == 3
    assert 'rate_limit_violations_total{endpoint="/api/things/{thing_id}"} 1.0' in metrics
    assert "rate_limit_near_limit 1.0" in metrics
    assert "RateLimit-Limit" not in health.headers  # health is exempt


async def test_health_and_metrics_are_never_limited(base_env: dict[str, str]) -> None:
    app = app_for(base_env, requests="1")
    async with AsyncTestClient(app) as client:
        for _ in range(5):
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert "ratelimit-limit" not in metrics.headers


async def test_unauthenticated_paths_are_limited_by_address(base_env: dict[str, str]) -> None:
    app = app_for(base_env, requests="2")
    async with AsyncTestClient(app) as client:
        codes = [(await client.get("/public/ping")).status_code for _ in range(3)]
        # the API key's bucket is separate from the address's
        assert (await client.get("/api/other", headers=MEMBER)).status_code == 200
    assert codes == [200, 200, 429]


async def test_configured_group_limit_wins(base_env: dict[str, str]) -> None:
    app = app_for(base_env, requests="100", groups="/api/other=1,/api/things/=2")
    async with AsyncTestClient(app) as client:
        other = [(await client.get("/api/other", headers=MEMBER)).status_code for _ in range(2)]
        things = [
            (await client.get(f"/api/things/{n}", headers=MEMBER)).status_code for n in range(3)
        ]
        listed = await client.get("/api/things", headers=MEMBER)
    assert other == [200, 429]
    assert things == [200, 200, 429]
    assert listed.status_code == 429  # /api/things and /api/things/{id} are one group
    assert listed.headers["RateLimit-Limit"] == "2"


async def test_disabled_limiter_adds_nothing(base_env: dict[str, str]) -> None:
    app = app_for(base_env, enabled="false", requests="1")
    async with AsyncTestClient(app) as client:
        answers = [await client.get("/api/things", headers=MEMBER) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert "ratelimit-limit" not in answers[0].headers


def test_bad_settings_name_the_variable(base_env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="BOSS_RATE_LIMIT__GROUPS"):
        load_settings({**base_env, "BOSS_RATE_LIMIT__GROUPS": "/api/ai:30"})
    with pytest.raises(SettingsError, match="BOSS_RATE_LIMIT__TRUSTED_PROXIES"):
        app_for(base_env, trusted_proxies="10.0.0.1,not-an-address")


async def test_fails_open_while_redis_is_down_and_recovers(
    base_env: dict[str, str], redis_server: RedisServer
) -> None:
    env = {**base_env, "BOSS_REDIS__URL": redis_server.url, "BOSS_REDIS__SOCKET_TIMEOUT": "0.2"}
    app = app_for(env, requests="2")
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/other", headers=MEMBER)).status_code == 200
        redis_server.stop()
        answers = [await client.get("/api/things", headers=MEMBER) for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 6
        assert all("ratelimit-limit" not in r.headers for r in answers)
        errors = sample((await client.get("/metrics")).text, "rate_limit_backend_errors_total")
        assert errors >= 1

        redis_server.start()  # an empty Redis: counters start again
        deadline = time.monotonic() + 15
        while True:  # enforcement resumes after the limiter's short cool-down
            response = await client.get("/api/things", headers=MEMBER)
            if "ratelimit-limit" in response.headers or time.monotonic() > deadline:
                break
            await anyio.sleep(0.2)
        assert response.headers["ratelimit-remaining"] == "1"
        assert (await client.get("/api/things", headers=MEMBER)).status_code == 200
        assert (await client.get("/api/things", headers=MEMBER)).status_code == 429
