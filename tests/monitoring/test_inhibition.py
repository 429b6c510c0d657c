"""The generated Alertmanager config on a real Alertmanager: who inhibits whom.

Alerts are posted straight to Alertmanager's API (no Prometheus needed); the Discord
webhook file points at a closed local port, so notifications fail harmlessly while the
routing and inhibition state is read back from the API.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boss.monitoring import BuildOptions, find_tool
from boss.monitoring.render_alertmanager import alertmanager_yml
from boss.monitoring.slo import with_slos

pytestmark = pytest.mark.usefixtures("tools")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on 127.0.0.1 running the generated config (short group waits)."""
    hook = tmp_path / "discord_webhook"
    hook.write_text(f"http://127.0.0.1:{_free_port()}/api/webhooks/1/x")
    opts = BuildOptions(
        webhook_files={s: str(hook) for s in ("critical", "warning", "info")},
        group_wait_warning="1s",
        group_wait_info="1s",
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_yml(opts))
    port = _free_port()
    log = (tmp_path / "alertmanager.log").open("w")
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
    url = f"http://127.0.0.1:{port}"
    try:
        ready = False
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                ready = httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready:
                break
            time.sleep(0.05)
        if not ready:
            pytest.fail(
                "Alertmanager did not start (Debian's build needs its templates in "
                "/usr/share/prometheus/alertmanager: run `make tools`):\n"
                + (tmp_path / "alertmanager.log").read_text()
            )
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    base = {"alertname": name, "severity": severity, "cluster": "c1", "environment": "prod"}
    return {"labels": {**base, **labels}, "annotations": {"summary": name}}


def _states(url: str, names: set[str]) -> dict[str, dict[str, Any]]:
    """Poll until every alert in ``names`` has been through the notification pipeline."""
    found: dict[str, dict[str, Any]] = {}
    for _ in range(200):
        alerts = httpx.get(f"{url}/api/v2/alerts", timeout=2).json()
        found = {a["labels"]["alertname"]: a["status"] for a in alerts}
        if all(n in found and found[n]["state"] != "unprocessed" for n in names):
            return found
        time.sleep(0.1)
    return found


def test_critical_inhibits_warnings_of_the_same_job(alertmanager: str) -> None:
    alerts = [
        _alert("HighErrorRate", "critical", job="boss"),
        _alert("SlowAPIResponses", "warning", job="boss"),
        _alert("LowCacheHitRate", "info", job="boss"),
        _alert("OtherJobSlow", "warning", job="other"),
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    states = _states(alertmanager, {"SlowAPIResponses", "LowCacheHitRate", "OtherJobSlow"})
    assert states["SlowAPIResponses"]["state"] == "suppressed"
    assert states["SlowAPIResponses"]["inhibitedBy"]
    assert states["LowCacheHitRate"]["state"] == "suppressed"
    assert states["HighErrorRate"]["state"] == "active"
    assert states["OtherJobSlow"]["state"] == "active"


def test_application_down_inhibits_everything_of_its_target(alertmanager: str) -> None:
    alerts = [
        _alert("ApplicationDown", "critical", job="boss", instance="boss-1:8000"),
        _alert("HighErrorRate", "critical", job="boss"),
        _alert("InstanceCritical", "critical", job="api", instance="boss-1:8000"),
        _alert("ElsewhereCritical", "critical", job="api", instance="boss-2:8000"),
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    states = _states(alertmanager, {"HighErrorRate", "InstanceCritical", "ElsewhereCritical"})
    assert states["HighErrorRate"]["state"] == "suppressed"  # same job
    assert states["InstanceCritical"]["state"] == "suppressed"  # same instance
    assert states["ElsewhereCritical"]["state"] == "active"
    assert states["ApplicationDown"]["state"] == "active"


def test_committed_alertmanager_config_is_the_default_one() -> None:
    """The committed config is what the defaults render: the tests above cover it too."""
    from .conftest import REPO, load

    committed = (REPO / "monitoring/alertmanager/alertmanager.yml").read_text()
    loaded = with_slos(load(), BuildOptions())
    assert committed == alertmanager_yml(
        BuildOptions(), [a for item in loaded for a in item.plugin.alerts]
    )
