"""Three boss replicas behind file_sd on one Prometheus: one view, shared limits and cache.

One stack for the module (three ``boss serve`` processes on one PostgreSQL database and one
Redis database, Prometheus discovering them from a file_sd file the build points at, and
Alertmanager); the tests run in file order and the last ones stop replicas.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN, API_KEYS, REDIS_BASE_URL
from tests.fakes.discord_server import DiscordServer

from .boss_server import BossServer
from .build import build_monitoring
from .fake_grafana import FakeGrafana
from .net import free_port, wait_for
from .pg import create_database, drop_database
from .processes import ProcessGroup
from .stack import Alertmanager, Prometheus
from .steps import step

pytestmark = pytest.mark.slow

REPLICAS = 3
RATE_LIMIT = 30
"""Requests per window for one key; the window (60 s) starts at the first request."""
BURST_KEY = "replica-burst-key-0123456789"
TASKS = "/api/db/tasks"


@dataclass
class Replicas:
    """The running stack: three boss replicas, Prometheus, Alertmanager."""

    bosses: list[BossServer]
    prometheus: Prometheus
    alertmanager: Alertmanager
    redis_url: str

    def logs(self) -> str:
        """State and log tails of every process, for failure messages."""
        parts = [boss.describe() for boss in self.bosses]
        for server in (self.prometheus, self.alertmanager):
            if server.process is not None:
                parts.append(server.process.describe())
        return "\n\n".join(parts)

    def up(self) -> dict[str, float]:
        """``up{job="boss"}`` per instance as Prometheus sees it now."""
        return {
            s["metric"]["instance"]: float(s["value"][1])
            for s in self.prometheus.api.query('up{job="boss"}')
        }


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Three replicas (one worker each) sharing PostgreSQL and Redis, scraped via file_sd."""
    import redis

    tmp = tmp_path_factory.mktemp("replicas")
    processes = ProcessGroup(tmp / "logs")
    name, pg_url = create_database()
    redis_url = f"{REDIS_BASE_URL}/{1 + secrets.randbelow(15)}"
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    client.flushdb()
    discord = DiscordServer().start()
    grafana = FakeGrafana().start()
    prometheus: Prometheus | None = None
    alertmanager: Alertmanager | None = None
    try:
        env = {
            "BOSS_DATA_DIR": str(tmp / "boss-data"),
            "BOSS_DATABASE__URL": pg_url,
            "BOSS_REDIS__URL": redis_url,
            "BOSS_API_KEYS": f"{API_KEYS},burst:member:{BURST_KEY}",
            "BOSS_RATE_LIMIT__REQUESTS": str(RATE_LIMIT),
            "BOSS_RATE_LIMIT__WINDOW": "60",
            "BOSS_AI__PROVIDER": "offline",
        }
        bosses = [
            BossServer(processes, port=free_port(), env=env, workers=1) for _ in range(REPLICAS)
        ]
        targets = tmp / "targets.json"
        targets.write_text(json.dumps([{"targets": [b.address for b in bosses]}]))
        webhook = tmp / "discord-webhook"
        webhook.write_text(discord.webhook_url("alerts") + "\n")
        prometheus_port, alertmanager_port = free_port(), free_port()
        files = build_monitoring(
            bosses[0],
            tmp / "build",
            targets=[],
            alertmanager=f"127.0.0.1:{alertmanager_port}",
            prometheus=f"127.0.0.1:{prometheus_port}",
            grafana=grafana.address,
            webhook_files={s: webhook for s in ("critical", "warning", "info")},
            extra=["--targets-file", str(targets)],
        )
        alertmanager = Alertmanager(files.alertmanager_yml, tmp / "alertmanager", alertmanager_port)
        prometheus = Prometheus(files.prometheus_yml, tmp / "prometheus", prometheus_port)
        alertmanager.start(processes)
        bosses[0].migrate()
        for boss in bosses:
            boss.start()
        prometheus.start(processes)
        yield Replicas(bosses, prometheus, alertmanager, redis_url)
    finally:
        for server in (prometheus, alertmanager):
            if server is not None:
                server.api.close()
        stubborn = processes.close()
        grafana.stop()
        discord.stop()
        client.flushdb()
        client.close()
        drop_database(name)
        assert not stubborn, f"processes survived SIGKILL: {', '.join(stubborn)}"


def test_each_replica_is_its_own_series(replicas: Replicas) -> None:
    addresses = {boss.address for boss in replicas.bosses}
    with step("Prometheus discovers the three replicas from file_sd", replicas.logs):
        wait_for(
            "up == 1 for every replica",
            lambda: replicas.up() == dict.fromkeys(addresses, 1.0),
            timeout=40,
            detail=lambda: json.dumps(replicas.prometheus.api.targets(), indent=1)[:3000],
        )
    with step("each replica's requests are its own series", replicas.logs):
        for boss in replicas.bosses:
            response = httpx.get(f"{boss.url}{TASKS}", headers=ADMIN, timeout=15)
            assert response.status_code == 200, response.text
        query = f'sum by (instance) (http_requests_total{{job="boss", endpoint="{TASKS}"}})'
        found = wait_for(
            "a request series per instance",
            lambda: (
                result if len(result := replicas.prometheus.api.query(query)) == REPLICAS else None
            ),
            timeout=20,
        )
        assert {s["metric"]["instance"] for s in found} == addresses
        assert all(float(s["value"][1]) >= 1 for s in found)


def test_rate_limit_is_shared_through_redis(replicas: Replicas) -> None:
    """Round-robin over the replicas: the key gets RATE_LIMIT answers in all, not 3 times it."""
    headers = {"Authorization": f"Bearer {BURST_KEY}"}
    allowed = 0
    with step("burst round-robin until the first 429", replicas.logs):
        for i in range(RATE_LIMIT * REPLICAS):
            boss = replicas.bosses[i % REPLICAS]
            status = httpx.get(f"{boss.url}{TASKS}", headers=headers, timeout=15).status_code
            assert status in (200, 429), status
            if status == 429:
                break
            allowed += 1
    assert allowed == RATE_LIMIT
    for boss in replicas.bosses:  # every replica now refuses the key: one shared counter
        response = httpx.get(f"{boss.url}{TASKS}", headers=headers, timeout=15)
        assert response.status_code == 429, boss.address
        assert int(response.headers["Retry-After"]) >= 1


def _cache_gets(boss: BossServer) -> dict[str, float]:
    """The replica's own ``cache_operations_total{operation="get"}`` by result."""
    text = httpx.get(f"{boss.url}/metrics", timeout=15).text
    return {
        sample.labels["result"]: float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cache_operations_total" and sample.labels["operation"] == "get"
    }


def test_cache_is_shared_through_redis(replicas: Replicas) -> None:
    first, second, third = replicas.bosses
    with step("a task cached by one replica is a hit on another", replicas.logs):
        task = httpx.post(
            f"{first.url}{TASKS}", json={"title": "Shared cache"}, headers=ADMIN, timeout=15
        ).json()
        url = f"{TASKS}/{task['id']}"
        assert httpx.get(f"{first.url}{url}", headers=ADMIN, timeout=15).status_code == 200
        before = _cache_gets(second)
        got = httpx.get(f"{second.url}{url}", headers=ADMIN, timeout=15).json()
        assert got["title"] == "Shared cache"
        after = _cache_gets(second)
        # It never read this task, yet every look-up (generation and record) hit: Redis had them
        assert after["hit"] > before["hit"]
        assert after["miss"] == before["miss"]
    with step("an update through a third replica invalidates it for all", replicas.logs):
        changed = httpx.patch(
            f"{third.url}{url}",
            json={"title": "Renamed", "version": got["version"]},
            headers=ADMIN,
            timeout=15,
        )
        assert changed.status_code == 200, changed.text
        for boss in replicas.bosses:
            again = httpx.get(f"{boss.url}{url}", headers=ADMIN, timeout=15).json()
            assert again["title"] == "Renamed", boss.address


def _down_scrapes(replicas: Replicas, address: str) -> float:
    expr = f'sum_over_time((up{{job="boss", instance="{address}"}} == bool 0)[15s:1s])'
    return replicas.prometheus.api.value(expr) or 0.0


def test_one_replica_down_is_one_instance_down(replicas: Replicas) -> None:
    gone, *alive = replicas.bosses
    gone.stop()
    with step("Prometheus sees exactly that instance down", replicas.logs):
        wait_for(
            "up == 0 for the stopped replica only",
            lambda: replicas.up() == {gone.address: 0.0, **{b.address: 1.0 for b in alive}},
            timeout=20,
        )
    for boss in alive:  # the others keep serving
        assert httpx.get(f"{boss.url}/health/ready", timeout=15).status_code == 200


def _rule(replicas: Replicas, name: str) -> dict[str, Any]:
    """The loaded alerting rule ``name`` as ``/api/v1/rules`` reports it."""
    for group in replicas.prometheus.api.rule_groups():
        for rule in group["rules"]:
            if rule.get("name") == name and rule.get("type") == "alerting":
                found: dict[str, Any] = rule
                return found
    raise AssertionError(f"alerting rule {name} is not loaded")


def _evaluated_at(rule: dict[str, Any]) -> float:
    """``lastEvaluation`` of a rule as Unix time (Prometheus writes RFC 3339, nanoseconds)."""
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", rule["lastEvaluation"]).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def test_application_down_stays_quiet_while_some_replicas_serve(replicas: Replicas) -> None:
    gone = replicas.bosses[0]
    if gone.process is not None and gone.process.running():
        gone.stop()
    stopped_at = time.time()
    with step("several rule evaluations see the replica down", replicas.logs):
        wait_for(
            "3 scrapes of the stopped replica",
            lambda: _down_scrapes(replicas, gone.address) >= 3,
            timeout=30,
        )
        wait_for(
            "ApplicationDown evaluated 10 s after the replica stopped",
            lambda: _evaluated_at(_rule(replicas, "ApplicationDown")) > stopped_at + 10,
            timeout=60,
        )
    assert _rule(replicas, "ApplicationDown")["health"] == "ok"
    # Every evaluation since the stop wrote an ALERTS sample if it went pending. Each one is a
    # fault unless Prometheus's data at that instant had no replica up: on a loaded machine
    # the 1 s scrapes of the live replicas can time out together, and then ApplicationDown
    # is right to go pending (its "for: 1m" keeps that from paging).
    window = int(time.time() - stopped_at) + 2
    series = replicas.prometheus.api.query(f'ALERTS{{alertname="ApplicationDown"}}[{window}s]')
    unexplained = [
        (series_["metric"], float(stamp))
        for series_ in series
        for stamp, _ in series_["values"]
        if float(stamp) > stopped_at
        and replicas.prometheus.api.value('max by (job) (up{job="boss"})', at=float(stamp)) == 1.0
    ]
    up = replicas.prometheus.api.query(f'up{{job="boss"}}[{window}s]')
    assert unexplained == [], (
        "ApplicationDown went pending while a replica answered Prometheus's scrape: "
        f"{unexplained}; up: {up}"
    )


def test_application_down_when_every_replica_is_down(replicas: Replicas) -> None:
    for boss in replicas.bosses:
        if boss.process is not None and boss.process.running():
            boss.stop()
    with step("ApplicationDown goes pending once all replicas are down", replicas.logs):
        wait_for(
            "up == 0 for every replica", lambda: set(replicas.up().values()) == {0.0}, timeout=20
        )
        wait_for(
            "ALERTS{alertname='ApplicationDown'}",
            lambda: replicas.prometheus.api.query('ALERTS{alertname="ApplicationDown"}') or None,
            timeout=30,
        )
