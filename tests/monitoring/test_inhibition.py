"""The generated Alertmanager config on a real Alertmanager: who inhibits whom, where Watchdog goes.

Alerts are posted straight to Alertmanager's API (no Prometheus needed) and their state,
``inhibitedBy`` included, is read back from it. Discord is the fake Discord server and the
dead man's switch a small local webhook, so the test also sees where notifications go.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from boss import AlertRule, BossPlugin
from boss.loader import LoadedPlugin
from boss.monitoring import BuildOptions, find_tool
from boss.monitoring.render_alertmanager import alertmanager_yml
from boss.monitoring.slo import with_slos
from tests.e2e.net import free_port
from tests.fakes.discord_server import DiscordServer

pytestmark = pytest.mark.usefixtures("tools")

Start = Callable[..., str]


class _Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def deadmans_switch() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook standing in for a healthchecks-style dead man's switch."""
    received: list[dict[str, Any]] = []
    handler = type("Hooks", (_Hooks,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ping/abc", received
    server.shutdown()
    server.server_close()


class _Declares(BossPlugin):
    """A plugin declaring that its critical alert explains another alert (``inhibits``)."""

    name = "declares"
    alerts: ClassVar[tuple[AlertRule, ...]] = (
        AlertRule(
            name="QueueBroken",
            expr="up == 0",
            severity="critical",
            summary="s",
            description="d",
            inhibits=("QueueSlow",),
        ),
    )


@pytest.fixture
def start_alertmanager(tmp_path: Path, discord: DiscordServer) -> Iterator[Start]:
    """Start a real Alertmanager on the config the build renders for ``**options``."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(loaded: tuple[LoadedPlugin, ...] = (), **options: Any) -> str:
        hook = tmp_path / "discord_webhook"
        hook.write_text(discord.webhook_url("alerts"))
        opts = BuildOptions(
            webhook_files={s: str(hook) for s in ("critical", "warning", "info")},
            group_wait_warning="0s",
            group_wait_info="0s",
            **options,
        )
        config = tmp_path / "alertmanager.yml"
        config.write_text(alertmanager_yml(opts, loaded))
        port = free_port()
        log = (tmp_path / "alertmanager.log").open("w")
        logs.append(log)
        proc = subprocess.Popen(
            [
                find_tool("alertmanager"),
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(
            "Alertmanager did not start (Debian's build needs its templates in "
            "/usr/share/prometheus/alertmanager: run `make tools`):\n"
            + (tmp_path / "alertmanager.log").read_text()
        )

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    for log in logs:
        log.close()


@pytest.fixture
def discord() -> Iterator[DiscordServer]:
    """The fake Discord that Alertmanager's Discord receivers post to."""
    with DiscordServer() as server:
        yield server


def _alert(
    name: str, severity: str, environment: str = "production", **labels: str
) -> dict[str, Any]:
    base = {"alertname": name, "severity": severity, "job": "boss", "cluster": "eu-1"}
    return {
        "labels": {**base, "environment": environment, **labels},
        "annotations": {"summary": name},
    }


def _key(alert: dict[str, Any]) -> str:
    labels = alert["labels"]
    return f"{labels['alertname']}@{labels.get('environment', '')}/{labels['severity']}"


def _post(url: str, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Post ``alerts`` and poll until each has been through the notification pipeline."""
    assert httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    wanted = {_key(a) for a in alerts}
    found: dict[str, dict[str, Any]] = {}
    for _ in range(200):
        found = {_key(a): a["status"] for a in httpx.get(f"{url}/api/v2/alerts", timeout=2).json()}
        if all(k in found and found[k]["state"] != "unprocessed" for k in wanted):
            return found
        time.sleep(0.1)
    raise AssertionError(f"alerts not processed: {found}")


def test_a_critical_alert_never_mutes_a_possible_cause(start_alertmanager: Start) -> None:
    url = start_alertmanager()
    states = _post(
        url,
        [
            _alert("HighErrorRate", "critical"),
            _alert("RedisConnectionErrors", "warning"),
            _alert("HighDatabaseLatency", "warning"),
            _alert("DatabasePoolExhaustion", "warning", instance="boss-1:8000"),
            _alert("LowCacheHitRate", "info"),
        ],
    )
    for name in ("RedisConnectionErrors", "HighDatabaseLatency", "DatabasePoolExhaustion"):
        assert states[f"{name}@production/warning"]["state"] == "active", states
        assert states[f"{name}@production/warning"]["inhibitedBy"] == []
    assert states["LowCacheHitRate@production/info"]["state"] == "active"


def test_a_critical_alert_mutes_the_warning_of_its_name_in_its_deployment_only(
    start_alertmanager: Start,
) -> None:
    url = start_alertmanager()
    states = _post(
        url,
        [
            _alert("DiskFilling", "critical"),
            _alert("DiskFilling", "warning"),
            _alert("DiskFilling", "warning", environment="staging"),
            _alert("SlowAPIResponses", "warning"),
        ],
    )
    assert states["DiskFilling@production/warning"]["state"] == "suppressed"
    assert states["DiskFilling@production/warning"]["inhibitedBy"]
    assert states["DiskFilling@staging/warning"]["state"] == "active"
    assert states["SlowAPIResponses@production/warning"]["state"] == "active"


def test_application_down_mutes_its_own_deployment_only(start_alertmanager: Start) -> None:
    url = start_alertmanager()
    states = _post(
        url,
        [
            _alert("ApplicationDown", "critical"),
            _alert("InstanceDown", "warning", instance="boss-1:8000"),
            _alert("HighErrorRate", "critical"),
            _alert("HighErrorRate", "critical", environment="staging"),
            _alert("PrometheusRuleFailures", "critical", job="prometheus"),
            {"labels": {"alertname": "Watchdog", "severity": "info"}, "annotations": {}},
        ],
    )
    assert states["InstanceDown@production/warning"]["state"] == "suppressed"
    assert states["HighErrorRate@production/critical"]["state"] == "suppressed"
    assert states["HighErrorRate@production/critical"]["inhibitedBy"]
    assert states["HighErrorRate@staging/critical"]["state"] == "active"
    assert states["PrometheusRuleFailures@production/critical"]["state"] == "active"
    assert states["Watchdog@/info"]["state"] == "active"
    assert states["ApplicationDown@production/critical"]["state"] == "active"


def test_declared_inhibits_mute_the_named_alert_in_the_same_deployment(
    start_alertmanager: Start,
) -> None:
    loaded = (LoadedPlugin(plugin=_Declares(), entry_point="<test>"),)
    url = start_alertmanager(loaded)
    states = _post(
        url,
        [
            _alert("QueueBroken", "critical"),
            _alert("QueueSlow", "warning"),
            _alert("QueueSlow", "warning", environment="staging"),
            _alert("RedisConnectionErrors", "warning"),
        ],
    )
    assert states["QueueSlow@production/warning"]["state"] == "suppressed"
    assert states["QueueSlow@staging/warning"]["state"] == "active"
    assert states["RedisConnectionErrors@production/warning"]["state"] == "active"


def test_watchdog_goes_to_the_deadmans_switch_and_never_to_discord(
    start_alertmanager: Start,
    deadmans_switch: tuple[str, list[dict[str, Any]]],
    discord: DiscordServer,
    tmp_path: Path,
) -> None:
    switch_url, received = deadmans_switch
    url_file = tmp_path / "deadmans_switch_url"
    url_file.write_text(switch_url)
    url = start_alertmanager(deadmans_switch_url_file=str(url_file))
    _post(url, [{"labels": {"alertname": "Watchdog", "severity": "info"}, "annotations": {}}])
    for _ in range(100):
        if received:
            break
        time.sleep(0.1)
    assert received, "the dead man's switch got no Watchdog notification"
    assert received[0]["alerts"][0]["labels"]["alertname"] == "Watchdog"
    assert received[0]["receiver"] == "deadmans-switch"
    _post(url, [_alert("HighErrorRate", "critical")])
    discord.wait_for(1)
    texts = [json.dumps(m.body) for m in discord.messages]
    assert all("Watchdog" not in text for text in texts), texts
    assert any("HighErrorRate" in text and "production" in text for text in texts), texts


def test_two_deployments_never_share_a_notification(
    start_alertmanager: Start, discord: DiscordServer
) -> None:
    url = start_alertmanager()
    _post(
        url,
        [
            _alert("HighErrorRate", "critical", instance="a:8000"),
            _alert("HighErrorRate", "critical", environment="staging", instance="b:8000"),
        ],
    )
    discord.wait_for(2)
    titles = sorted(m.body["embeds"][0]["title"] for m in discord.messages)
    assert titles == [
        "[FIRING:1] HighErrorRate (critical) boss/eu-1/production",
        "[FIRING:1] HighErrorRate (critical) boss/eu-1/staging",
    ]
    staging = next(m.body for m in discord.messages if "staging" in m.body["embeds"][0]["title"])
    body = staging["embeds"][0]["description"]
    assert "environment=staging instance=b:8000" in body
    assert "Runbook:" in body
    assert "/#/silences/new?filter=" in body


def test_committed_alertmanager_config_is_the_default_one() -> None:
    """The committed config is what the defaults render for the project's own plugins."""
    from boss.monitoring import load_fragments
    from boss.settings import load_settings

    from .conftest import REPO

    committed = (REPO / "monitoring/alertmanager/alertmanager.yml").read_text()
    loaded = load_fragments(load_settings({}))
    own = with_slos([item for item in loaded if item.name != "example"], BuildOptions())
    assert committed == alertmanager_yml(BuildOptions(), own)
