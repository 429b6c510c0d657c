"""Fixtures of the end-to-end test: every process it starts is stopped by pid at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import API_KEYS
from tests.fakes.discord_server import DiscordServer

from .boss_server import BossServer
from .build import MonitoringFiles, build_monitoring
from .drivers import installed_plugins
from .fake_grafana import FakeGrafana
from .net import free_port
from .pg import create_database, drop_database
from .processes import ProcessGroup
from .stack import Alertmanager, Prometheus

COUNT_KEY = "counter-test-key-0123456789"
"""The key of the counted requests: its own rate-limit bucket, so none is refused."""
BURST_KEY = "burst-test-key-0123456789"
"""The key of the rate-limited burst, so the burst cannot starve the other traffic."""
ALERTS_CHANNEL = "alerts"
"""Fake-Discord channel of Alertmanager's notifications."""
PLUGIN_ALERTS_CHANNEL = "boss-alerts"
"""Fake-Discord channel of the Discord plugin's ``alerts`` webhook (the admin test alert)."""
TASKS_CHANNEL = "tasks"
"""Fake-Discord channel of the Discord plugin's task events."""
RATE_LIMIT = 100
"""Requests per window and route group for one key; the burst sends more than this."""


@dataclass
class Stack:
    """Everything the test runs: boss, the generated files, Prometheus, Alertmanager, Discord."""

    boss: BossServer
    files: MonitoringFiles
    prometheus: Prometheus
    alertmanager: Alertmanager
    discord: DiscordServer
    processes: ProcessGroup
    database: str
    """Name of the test's own PostgreSQL database."""
    plugins: list[str]
    """The installed plugins when the configs were built."""

    def logs(self) -> str:
        """State and log tails of every process, for failure messages."""
        parts = [self.boss.describe()]
        for server in (self.prometheus, self.alertmanager):
            if server.process is not None:
                parts.append(server.process.describe())
        return "\n\n".join(parts)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """A process group whose children are all stopped by pid when the test ends, pass or fail."""
    group = ProcessGroup(tmp_path / "logs")
    yield group
    stubborn = group.close()
    assert not stubborn, f"processes survived SIGKILL: {', '.join(stubborn)}"


@pytest.fixture
def discord() -> Iterator[DiscordServer]:
    """The fake Discord on a free port (Alertmanager's and the Discord plugin's webhook target)."""
    with DiscordServer() as server:
        yield server


def boss_settings(
    tmp_path: Path, pg_url: str, redis_url: str, discord: DiscordServer
) -> dict[str, str]:
    """``BOSS_*`` variables of the server under test (core plus every built-in plugin)."""
    return {
        "BOSS_DATA_DIR": str(tmp_path / "boss-data"),
        "BOSS_DATABASE__URL": pg_url,
        "BOSS_REDIS__URL": redis_url,
        "BOSS_API_KEYS": f"{API_KEYS},counter:member:{COUNT_KEY},burst:member:{BURST_KEY}",
        "BOSS_ENVIRONMENT": "e2e",
        "BOSS_RATE_LIMIT__REQUESTS": str(RATE_LIMIT),
        "BOSS_RATE_LIMIT__REDIS_PREFIX": f"boss:e2e:{tmp_path.name}:ratelimit:",
        "BOSS_CACHE__PREFIX": f"boss:e2e:{tmp_path.name}:cache:",
        "BOSS_DISCORD__WEBHOOKS__TASKS": discord.webhook_url(TASKS_CHANNEL),
        "BOSS_DISCORD__WEBHOOKS__ALERTS": discord.webhook_url(PLUGIN_ALERTS_CHANNEL),
        "BOSS_DISCORD__RETRIES": "0",
        "BOSS_AI__PROVIDER": "offline",
    }


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    """A stand-in for Grafana's ``/metrics`` (no Grafana server installs here)."""
    server = FakeGrafana().start()
    yield server
    server.stop()


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """The test's own PostgreSQL database (name, URL), dropped afterwards."""
    name, url = create_database()
    yield name, url
    drop_database(name)


BuildExtra = Callable[[BossServer], Sequence[str]]


@pytest.fixture
def build_extra() -> BuildExtra:
    """More ``boss monitoring build`` arguments for the stack, given its boss (none here).

    A test module overrides this fixture to put neighbours into the same Prometheus.
    """
    return lambda boss: ()


@pytest.fixture
def stack(
    tmp_path: Path,
    database: tuple[str, str],
    redis_url: str,
    processes: ProcessGroup,
    discord: DiscordServer,
    grafana: FakeGrafana,
    build_extra: BuildExtra,
) -> Iterator[Stack]:
    """boss (2 workers), Prometheus and Alertmanager on the generated configs, all running."""
    boss = BossServer(
        processes, port=free_port(), env=boss_settings(tmp_path, database[1], redis_url, discord)
    )
    plugins = installed_plugins()
    webhook_file = tmp_path / "discord-webhook"
    webhook_file.write_text(discord.webhook_url(ALERTS_CHANNEL) + "\n")
    webhook_file.chmod(0o600)
    prometheus_port, alertmanager_port = free_port(), free_port()
    files = build_monitoring(
        boss,
        tmp_path / "build",
        targets=[boss.address],
        alertmanager=f"127.0.0.1:{alertmanager_port}",
        prometheus=f"127.0.0.1:{prometheus_port}",
        grafana=grafana.address,
        webhook_files={severity: webhook_file for severity in ("critical", "warning", "info")},
        extra=build_extra(boss),
    )
    alertmanager = Alertmanager(
        files.alertmanager_yml, tmp_path / "alertmanager", alertmanager_port
    )
    prometheus = Prometheus(files.prometheus_yml, tmp_path / "prometheus", prometheus_port)
    alertmanager.start(processes)
    boss.migrate()
    boss.start()
    prometheus.start(processes)
    yield Stack(boss, files, prometheus, alertmanager, discord, processes, database[0], plugins)
    prometheus.api.close()
    alertmanager.api.close()


__all__ = (
    "ALERTS_CHANNEL",
    "BURST_KEY",
    "COUNT_KEY",
    "PLUGIN_ALERTS_CHANNEL",
    "RATE_LIMIT",
    "TASKS_CHANNEL",
    "BuildExtra",
    "Stack",
)
