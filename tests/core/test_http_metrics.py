"""HTTP instrumentation: route-template labels, unmatched requests, errors, bounded series."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.http_metrics import UNMATCHED, HttpMetricsApp
from boss.settings import load_settings
from tests.conftest import ADMIN
from tests.core.helpers import DemoPlugin, samples, series_count, value

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(base_env):
    return create_app(load_settings(base_env), plugins=[DemoPlugin])


async def test_matched_route_is_labelled_by_template(app):
    async with AsyncTestClient(app) as client:
        for task_id in ("TASK-1", "TASK-2", "TASK-3"):
            assert (await client.get(f"/api/db/tasks/{task_id}", headers=ADMIN)).status_code == 200
        text = (await client.get("/metrics")).text
    assert (
        value(
            text,
            "http_requests_total",
            method="GET",
            endpoint="/api/db/tasks/{task_id}",
            status="200",
        )
        == 3
    )
    assert (
        value(
            text,
            "http_request_duration_seconds_count",
            method="GET",
            endpoint="/api/db/tasks/{task_id}",
        )
        == 3
    )
    assert "TASK-1" not in text


async def test_unmatched_and_method_not_allowed_share_one_label(app):
    async with AsyncTestClient(app) as client:
        assert (await client.get("/no/such/path")).status_code == 404
        assert (await client.get("/another/unknown")).status_code == 404
        assert (await client.delete("/health")).status_code == 405
        assert (await client.request("BREW", "/health")).status_code in (400, 405)
        text = (await client.get("/metrics")).text
    assert value(text, "http_requests_total", method="GET", endpoint=UNMATCHED, status="404") == 2
    assert (
        value(text, "http_requests_total", method="DELETE", endpoint=UNMATCHED, status="405") == 1
    )
    assert "/no/such/path" not in text
    assert 'method="BREW"' not in text


async def test_raising_route_counts_500_and_an_error(app):
    async with AsyncTestClient(app) as client:
        response = await client.get("/api/boom", headers=ADMIN)
        text = (await client.get("/metrics")).text
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "kaboom" not in response.text
    assert "Traceback" not in response.text
    assert value(text, "http_requests_total", method="GET", endpoint="/api/boom", status="500") == 1
    assert value(text, "errors_total", type="RuntimeError", severity="critical") == 1


async def test_metrics_endpoint_does_not_count_itself(app):
    async with AsyncTestClient(app) as client:
        for _ in range(3):
            await client.get("/metrics")
        text = (await client.get("/metrics")).text
    assert 'endpoint="/metrics"' not in text


async def test_ten_thousand_task_ids_do_not_grow_the_series(base_env):
    # Rate limiting is off here: the point is the series count, not the limiter.
    env = {**base_env, "BOSS_RATE_LIMIT__ENABLED": "false"}
    app = create_app(load_settings(env), plugins=[DemoPlugin])
    async with AsyncTestClient(app) as client:
        await client.get("/api/db/tasks/TASK-0", headers=ADMIN)
        before = series_count((await client.get("/metrics")).text)
        for n in range(1, 10_001):
            response = await client.get(f"/api/db/tasks/TASK-{n}", headers=ADMIN)
            assert response.status_code == 200
        text = (await client.get("/metrics")).text
    assert series_count(text) == before
    assert (
        value(
            text,
            "http_requests_total",
            method="GET",
            endpoint="/api/db/tasks/{task_id}",
            status="200",
        )
        == 10_001
    )


async def test_disabled_metrics_remove_wrapper_and_endpoint(base_env):
    app = create_app(
        load_settings({**base_env, "BOSS_METRICS__ENABLED": "false"}), plugins=[DemoPlugin]
    )
    assert not isinstance(app, HttpMetricsApp)
    assert isinstance(app.app, Litestar)  # only the HEAD/OPTIONS wrapper around it
    async with AsyncTestClient(app) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health")).status_code == 200


async def test_two_apps_in_one_process_keep_separate_metrics(base_env):
    first = create_app(load_settings(base_env), plugins=[DemoPlugin])
    second = create_app(load_settings(base_env), plugins=[DemoPlugin])
    async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
        await a.get("/api/db/tasks/TASK-1", headers=ADMIN)
        text_b = (await b.get("/metrics")).text
        text_a = (await a.get("/metrics")).text
    assert value(text_a, "demo_things_total", kind="get") == 1
    assert value(text_b, "demo_things_total", kind="get") == 0


def test_batched_and_direct_recording_expose_the_same_samples():
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from boss.core_plugin import HTTP_BUCKETS
    from boss.http_metrics import HttpRecorder

    def recorder(batched: bool) -> tuple[CollectorRegistry, HttpRecorder]:
        registry = CollectorRegistry()
        requests = Counter(
            "http_requests", "r", ("method", "endpoint", "status"), registry=registry
        )
        duration = Histogram(
            "http_request_duration_seconds",
            "d",
            ("method", "endpoint"),
            registry=registry,
            buckets=HTTP_BUCKETS,
        )
        return registry, HttpRecorder(requests, duration, batched=batched)

    # Durations on bucket bounds, between them and beyond the last one.
    observations = [
        ("GET", "/a", 200, d) for d in (0.0, 0.005, 0.0051, 0.3, 2.5, 9.99, 10.0, 42.0)
    ] + [("POST", "/b", 500, 0.25), ("POST", "/b", 201, 0.07), ("GET", "/a", 404, 0.001)]
    direct_registry, direct = recorder(batched=False)
    batched_registry, batched = recorder(batched=True)
    assert batched.batched
    assert not direct.batched
    for method, endpoint, status, elapsed in observations:
        direct.record(method, endpoint, status, elapsed)
        batched.record(method, endpoint, status, elapsed)
    assert not samples(generate_latest(batched_registry).decode())  # nothing until a flush
    batched.flush()
    batched.flush()  # a second flush adds nothing
    got = samples(generate_latest(batched_registry).decode())
    want = samples(generate_latest(direct_registry).decode())
    assert got.keys() == want.keys()
    for key, expected in want.items():
        assert got[key] == pytest.approx(expected), key
