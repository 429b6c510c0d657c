"""End to end: real Prometheus and Alertmanager on the generated configs, against a real boss.

One test, in named steps (a failure names its step and shows every server's log tail):
targets up; traffic through every plugin; every generated alert, recording-rule and panel
query evaluates, panels have data; counters equal the requests sent across both workers;
the same Prometheus also scrapes a failing foreign app (job ``payments``, boss's metric
names) and a second deployment of boss (``environment="staging"``, its only replica down):
no boss alert goes even pending for the foreign job, and staging's ApplicationDown reaches
Discord as staging while production stays quiet; then production's ApplicationDown fires
and resolves as Discord messages; the admin test alert arrives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ADMIN

from .boss_server import BossServer
from .conftest import (
    ALERTS_CHANNEL,
    BURST_KEY,
    COUNT_KEY,
    PLUGIN_ALERTS_CHANNEL,
    RATE_LIMIT,
    TASKS_CHANNEL,
    BuildExtra,
    Stack,
)
from .drivers import DRIVERS, TASKS, Drive, installed_plugins, missing_drivers
from .fake_exporter import FailingApp
from .faults import discord_outage, missing_table
from .net import free_port, wait_for
from .queries import GeneratedQuery, dashboard_queries, rule_queries
from .steps import step
from .traffic import Traffic
from .workers import metrics_dir_from_log, requests_per_worker

pytestmark = pytest.mark.slow

TARGETS_TIMEOUT = 30.0
"""Prometheus's first scrape comes about 5 s after start (a fixed discovery throttle)."""
SCRAPE_TIMEOUT = 20.0
"""Time for a scrape (1 s interval) to pick up traffic that was just sent."""
ALERT_TIMEOUT = 150.0
"""ApplicationDown's generated ``for: 1m`` plus evaluation and notification slack."""
NOTIFY_TIMEOUT = 30.0
"""From an alert changing state in Prometheus to its message at the fake Discord."""
COUNTED_REQUESTS = 25
FOREIGN_JOB = "payments"
STAGING = "staging"
"""``environment`` target label of the second deployment (production's comes from the
external label, ``e2e``)."""


@pytest.fixture
def failing_app() -> Iterator[FailingApp]:
    """The foreign app in the same Prometheus: boss's metric names, everything failing."""
    app = FailingApp().start()
    yield app
    app.stop()


@pytest.fixture
def build_extra(tmp_path: Path, failing_app: FailingApp) -> BuildExtra:
    """Build with a file_sd of boss's replicas (production, plus staging's dead one) and a
    scrape config file for the foreign job, as ops running one shared Prometheus would."""

    def extra(boss: BossServer) -> list[str]:
        targets = tmp_path / "boss-targets.json"
        staging = {"targets": [f"127.0.0.1:{free_port()}"], "labels": {"environment": STAGING}}
        targets.write_text(json.dumps([{"targets": [boss.address]}, staging]))
        neighbours = tmp_path / "neighbours.yml"
        job = {"job_name": FOREIGN_JOB, "static_configs": [{"targets": [failing_app.address]}]}
        neighbours.write_text(yaml.safe_dump({"scrape_configs": [job]}))
        return ["--targets-file", str(targets), "--scrape-config-file", str(neighbours)]

    return extra


def _scrape_jobs(stack: Stack) -> set[str]:
    config = yaml.safe_load(stack.files.prometheus_yml.read_text())
    return {job["job_name"] for job in config.get("scrape_configs") or []}


def _targets_up(stack: Stack, jobs: set[str]) -> bool:
    targets = [  # staging's only replica is down on purpose
        t for t in stack.prometheus.api.targets() if t["labels"].get("environment") != STAGING
    ]
    seen = {t["labels"].get("job") for t in targets}
    down = [
        f"{t['labels'].get('job')} {t['scrapeUrl']}: {t['health']} {t.get('lastError') or ''}"
        for t in targets
        if t["health"] != "up"
    ]
    if jobs - seen:
        raise AssertionError(f"jobs without an active target: {sorted(jobs - seen)}")
    if down:
        raise AssertionError("targets not up: " + "; ".join(down))
    return True


def _embeds(messages: list[Any]) -> int:
    """How many task notifications the Discord messages carry (one embed each)."""
    return sum(len(m.get("embeds") or [None]) for m in messages if isinstance(m, dict))


def _wait_counted(stack: Stack, expr: str, expected: int, what: str) -> None:
    """Wait until Prometheus has scraped ``expr`` equal to ``expected``."""
    api = stack.prometheus.api

    def probe() -> bool:
        value = api.value(expr)
        if value != expected:
            raise AssertionError(f"{expr} = {value}, expected {expected}")
        return True

    wait_for(what, probe, timeout=SCRAPE_TIMEOUT, interval=0.5)


def _total_sent(stack: Stack, *traffics: Traffic) -> int:
    """Requests boss answered since its last start: the traffic plus the readiness polling."""
    return stack.boss.health_polls + sum(sum(t.sent.values()) for t in traffics)


def _discord_alerts(
    stack: Stack, alertname: str, state: str, environment: str = "e2e"
) -> list[Any]:
    """Alertmanager's Discord messages about ``alertname`` in ``environment`` saying ``state``.

    The title ends in the deployment (``job/cluster/environment``).
    """
    found = []
    for body in stack.discord.messages_for(ALERTS_CHANNEL):
        text = json.dumps(body)
        titles = [str(e.get("title", "")) for e in body.get("embeds") or []]
        titles.append(str(body.get("content") or ""))
        if alertname in text and any(
            state.lower() in title.lower() and title.strip().endswith(f"/{environment}")
            for title in titles
        ):
            found.append(body)
    return found


def _alert_state(stack: Stack, alertname: str, environment: str | None = None) -> str | None:
    """``firing``, ``pending`` or ``None`` for ``alertname`` of one deployment in Prometheus.

    ``environment=None`` is production, whose series carry no ``environment`` target label
    (Prometheus adds the external label only to what it sends).
    """
    states = [
        a["state"]
        for a in stack.prometheus.api.alerts()
        if a["labels"].get("alertname") == alertname
        and a["labels"].get("environment") == environment
    ]
    return "firing" if "firing" in states else (states[0] if states else None)


def _prometheus_time(value: str) -> float:
    """Seconds since the epoch of an RFC 3339 time from Prometheus's API (nanoseconds cut)."""
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", value).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()


def _rules_evaluated_since(stack: Stack, moment: float) -> bool:
    groups = stack.prometheus.api.rule_groups()
    late = [g["name"] for g in groups if _prometheus_time(g["lastEvaluation"]) <= moment]
    if late:
        raise AssertionError(f"rule groups not evaluated again yet: {late}")
    return True


def test_generated_monitoring_works_end_to_end(stack: Stack) -> None:
    api = stack.prometheus.api
    logs = stack.logs

    with step("1: every scrape target is up", logs):
        jobs = _scrape_jobs(stack)
        assert "boss" in jobs, f"prometheus.yml has no 'boss' scrape job: {sorted(jobs)}"
        wait_for(
            f"every target of {sorted(jobs)} to be up",
            lambda: _targets_up(stack, jobs),
            timeout=TARGETS_TIMEOUT,
            interval=0.5,
        )

    drive = Drive(
        traffic=Traffic(stack.boss.url),
        burst=Traffic(stack.boss.url, {"Authorization": f"Bearer {BURST_KEY}"}),
    )
    with step("2a: traffic through every installed plugin", logs):
        missing = missing_drivers()
        assert not missing, f"installed plugins without a traffic driver in drivers.py: {missing}"
        plugins = installed_plugins()
        assert plugins == stack.plugins, (
            f"the installed plugins changed from {stack.plugins} to {plugins} while the test ran"
            " (something installs or removes plugins in this environment concurrently)"
        )
        assert "tasks" in plugins, f"the tasks plugin is not installed (installed: {plugins})"
        # Two rounds with a scrape between them: every counter has two samples that differ,
        # so each rate() is positive and each histogram_quantile() has a real value.
        for round_ in (1, 2):
            for name in DRIVERS:
                if name in plugins:
                    with step(f"2a: driver {name!r}, round {round_}"):
                        DRIVERS[name](drive)
            if round_ == 1:
                with step("2a: server errors from a missing table"):
                    missing_table(drive, stack.database)
                if "discord" in plugins:
                    with step("2a: Discord answers 500"):
                        discord_outage(drive, stack.discord, PLUGIN_ALERTS_CHANNEL)
            _wait_counted(
                stack,
                'sum(http_requests_total{job="boss"})',
                _total_sent(stack, drive.traffic, drive.burst),
                f"Prometheus to scrape the round-{round_} traffic",
            )

    if "discord" in installed_plugins():
        with step("2a: task events reach the Discord tasks channel", logs):
            wait_for(
                "task-created, completed and blocked embeds at the fake Discord",
                # events drained together are coalesced: one message may carry several embeds
                lambda: _embeds(stack.discord.messages_for(TASKS_CHANNEL)) >= 3,
                timeout=NOTIFY_TIMEOUT,
                detail=lambda: f"tasks channel got: {stack.discord.messages_for(TASKS_CHANNEL)}",
            )

    with step("2b: rate-limited burst", logs):
        # Fixed windows: a window may end mid-burst, so go on until enough were refused.
        wanted, budget = 10, 3 * (RATE_LIMIT + 10)
        while drive.burst.count_status(429) < wanted and drive.burst.count(TASKS) < budget:
            drive.burst.request("GET", TASKS, expect=(200, 429))
        refused = drive.burst.count_status(429)
        assert refused >= wanted, (
            f"{drive.burst.count(TASKS)} requests to {TASKS} with a limit of {RATE_LIMIT}"
            f" gave only {refused} 429 answers"
        )
        _wait_counted(
            stack,
            'sum(rate_limit_violations_total{job="boss"})',
            refused,
            "Prometheus to scrape rate_limit_violations_total",
        )

    with step("2c: every generated rule is healthy in Prometheus", logs):

        def rules_healthy() -> bool:
            bad = [
                f"{rule['name']} ({group['name']}): {rule['health']} {rule.get('lastError', '')}"
                for group in api.rule_groups()
                for rule in group["rules"]
                if rule["health"] != "ok"
            ]
            if bad:
                raise AssertionError("rules not healthy: " + "; ".join(bad))
            return True

        wait_for("every rule to evaluate ok", rules_healthy, timeout=SCRAPE_TIMEOUT)

    with step("2d: every alert, recording-rule and panel query evaluates; panels have data", logs):
        rules = rule_queries(stack.files.rules_dir)
        panels = dashboard_queries(stack.files.dashboards_dir)
        assert any(q.kind == "alert" for q in rules), f"no alert rules in {stack.files.rules_dir}"
        assert panels, f"no panel queries in {stack.files.dashboards_dir}"
        failures = []
        for query in rules + panels:
            try:
                api.query(query.expr)
            except AssertionError as exc:
                failures.append(f"{query.describe()}\n    -> {exc}")
        assert not failures, "queries that do not evaluate:\n" + "\n".join(failures)

        def panels_with_data() -> bool:
            empty: list[GeneratedQuery] = [q for q in panels if not api.query(q.expr)]
            if empty:
                raise AssertionError(
                    "panel queries without data:\n" + "\n".join(q.describe() for q in empty)
                )
            return True

        wait_for("every panel query to return data", panels_with_data, timeout=SCRAPE_TIMEOUT)

    with step("3: http_requests_total equals the requests sent, across both workers", logs):
        counted = Traffic(stack.boss.url, {"Authorization": f"Bearer {COUNT_KEY}"})
        template = TASKS
        before = int(api.value(f'sum(http_requests_total{{endpoint="{template}"}})') or 0)
        expected_before = drive.traffic.count(template) + drive.burst.count(template)
        if template == "/health":
            expected_before += stack.boss.health_polls
        assert before == expected_before, (
            f'sum(http_requests_total{{endpoint="{template}"}}) = {before} before the counted'
            f" requests, but {expected_before} were sent"
        )
        for _ in range(COUNTED_REQUESTS):
            counted.request("GET", template)
        _wait_counted(
            stack,
            f'sum(http_requests_total{{endpoint="{template}"}})',
            expected_before + COUNTED_REQUESTS,
            f"http_requests_total for {template} to add up",
        )
        _wait_counted(
            stack,
            'sum(http_requests_total{job="boss"})',
            _total_sent(stack, drive.traffic, drive.burst, counted),
            "the total of http_requests_total to add up",
        )
        assert stack.boss.process is not None
        per_worker = requests_per_worker(
            metrics_dir_from_log(stack.boss.process.log_path.read_text()), template
        )
        busy = {pid: n for pid, n in per_worker.items() if n > 0}
        assert sum(per_worker.values()) == expected_before + COUNTED_REQUESTS, per_worker
        assert len(busy) >= 2, f"requests to {template} per worker pid: {per_worker}"

    with step("3b: a failing foreign job in the same Prometheus fires no boss alert", logs):
        failing = (
            f'sum by (job) (rate(http_requests_total{{job="{FOREIGN_JOB}", status=~"5.."}}[1m]))'
            f' > 0 and on (job) max by (job) (db_pool_connections{{job="{FOREIGN_JOB}"}}) > 5'
        )
        wait_for(
            f"Prometheus to see job {FOREIGN_JOB!r} failing (what unscoped rules would alert on)",
            lambda: api.query(failing),
            timeout=SCRAPE_TIMEOUT,
        )
        seen_at = float(api.value("time()") or 0)
        wait_for(
            "every rule group to evaluate on the foreign job's failures",
            lambda: _rules_evaluated_since(stack, seen_at + 1),
            timeout=SCRAPE_TIMEOUT,
        )
        foreign = [a for a in api.alerts() if a["labels"].get("job") == FOREIGN_JOB]
        assert not foreign, f"boss alerts pending or firing for job {FOREIGN_JOB!r}: {foreign}"
        assert api.query(f'{{__name__=~"boss:.+", job="{FOREIGN_JOB}"}}') == []

    with step("3c: staging, all replicas down, pages as staging only", logs):
        wait_for(
            "ApplicationDown of staging to fire (generated for: 1m)",
            lambda: _alert_state(stack, "ApplicationDown", STAGING) == "firing",
            timeout=ALERT_TIMEOUT,
            interval=1.0,
        )
        wait_for(
            "a firing ApplicationDown message for staging at the fake Discord",
            lambda: _discord_alerts(stack, "ApplicationDown", "firing", STAGING),
            timeout=NOTIFY_TIMEOUT,
            detail=lambda: f"Discord got: {stack.discord.messages_for(ALERTS_CHANNEL)}",
        )
        assert _alert_state(stack, "ApplicationDown") is None, "production is up"
        assert not _discord_alerts(stack, "ApplicationDown", "firing"), (
            "a production ApplicationDown reached Discord while production is up"
        )
        staged = [a["labels"] for a in api.alerts() if a["labels"].get("environment") == STAGING]
        assert {labels["alertname"] for labels in staged} <= {"ApplicationDown", "InstanceDown"}
        for labels in staged:
            assert labels["job"] == "boss", labels

    if "discord" in installed_plugins():
        with step("4a: POST /api/admin/test-alert arrives at Discord", logs):
            before = len(stack.discord.messages_for(PLUGIN_ALERTS_CHANNEL))
            response = drive.traffic.request(
                "POST", "/api/admin/test-alert", headers=ADMIN, expect=200
            )
            assert response.json().get("status") == "sent", response.text
            messages = stack.discord.messages_for(PLUGIN_ALERTS_CHANNEL)
            assert len(messages) == before + 1, (
                f"the fake Discord holds {len(messages)} test alerts, expected {before + 1}"
            )

    with step("4b: stopping boss fires ApplicationDown, sent to Discord", logs):
        stack.boss.stop()
        wait_for(
            "ApplicationDown to fire in Prometheus (generated for: 1m)",
            lambda: _alert_state(stack, "ApplicationDown") == "firing",
            timeout=ALERT_TIMEOUT,
            interval=1.0,
        )
        wait_for(
            "a firing ApplicationDown message at the fake Discord",
            lambda: _discord_alerts(stack, "ApplicationDown", "firing"),
            timeout=NOTIFY_TIMEOUT,
            detail=lambda: f"Discord got: {stack.discord.messages_for(ALERTS_CHANNEL)}",
        )

    with step("4c: starting boss again resolves ApplicationDown on Discord", logs):
        stack.boss.start()
        wait_for(
            "ApplicationDown to stop firing in Prometheus",
            lambda: _alert_state(stack, "ApplicationDown") is None,
            timeout=SCRAPE_TIMEOUT,
        )
        wait_for(
            "a resolved ApplicationDown message at the fake Discord",
            lambda: _discord_alerts(stack, "ApplicationDown", "resolved"),
            timeout=NOTIFY_TIMEOUT,
            detail=lambda: f"Discord got: {stack.discord.messages_for(ALERTS_CHANNEL)}",
        )
