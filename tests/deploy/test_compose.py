"""compose.yml: boss, PostgreSQL, Redis and the monitoring stack, wired to each other."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.e2e.tools import REPO_ROOT, venv_bin


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    """Every service of compose.yml and of the files it includes."""
    found = dict(compose["services"])
    for name in compose["include"]:
        included = yaml.safe_load((REPO_ROOT / name).read_text())["services"]
        assert not set(included) & set(found), "service names collide across files"
        found |= included
    return found


def test_compose_files_are_valid_compose_spec() -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.compose-spec",
            str(REPO_ROOT / "compose.yml"),
            str(REPO_ROOT / "compose.monitoring.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_whole_system_is_included(compose: dict[str, Any], services: dict[str, Any]) -> None:
    assert compose["include"] == ["compose.monitoring.yml"]
    assert {"boss", "migrate", "postgres", "redis", "prometheus", "alertmanager", "grafana"} <= set(
        services
    )


def test_boss_is_built_from_the_containerfile_and_migrated_first(services: dict[str, Any]) -> None:
    boss, migrate = services["boss"], services["migrate"]
    for service in (boss, migrate):
        assert service["build"] == {"context": ".", "dockerfile": "Containerfile"}
        assert (REPO_ROOT / service["build"]["dockerfile"]).is_file()
    assert boss["image"] == migrate["image"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert boss["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert boss["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert boss["environment"]["BOSS_SERVER__HOST"] == "0.0.0.0"


def test_boss_reaches_postgres_and_redis(services: dict[str, Any]) -> None:
    for name in ("boss", "migrate"):
        env = services[name]["environment"]
        assert "${POSTGRES_PASSWORD:?" in env["BOSS_DATABASE__URL"]
        db = urlsplit(re.sub(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", "pw", env["BOSS_DATABASE__URL"]))
        assert db.scheme == "postgresql+asyncpg"
        assert db.hostname == "postgres"
        assert db.username == services["postgres"]["environment"]["POSTGRES_USER"]
        assert db.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
        assert db.password == "pw"
        assert urlsplit(env["BOSS_REDIS__URL"]).hostname == "redis"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )


def test_prometheus_scrapes_the_boss_service() -> None:
    prom = yaml.safe_load((REPO_ROOT / "monitoring/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "boss"]
    assert job["static_configs"] == [{"targets": ["boss:8000"]}]


def test_alerts_reach_discord_once_the_secret_is_set(services: dict[str, Any]) -> None:
    am = yaml.safe_load((REPO_ROOT / "monitoring/alertmanager/alertmanager.yml").read_text())
    files = {c["webhook_url_file"] for r in am["receivers"] for c in r.get("discord_configs", ())}
    assert files == {"/run/secrets/discord_webhook"}
    assert services["alertmanager"]["secrets"] == ["discord_webhook"]
    monitoring = yaml.safe_load((REPO_ROOT / "compose.monitoring.yml").read_text())
    assert monitoring["secrets"]["discord_webhook"]["file"].endswith("/secrets/discord_webhook}")


def test_every_long_running_service_has_a_healthcheck_and_binds_locally(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        assert "healthcheck" in service, name
        for port in service.get("ports", ()):
            assert port.startswith(("${MONITORING_BIND:-127.0.0.1}:", "${BOSS_BIND:-127.0.0.1}:"))
    assert "/health/ready" in " ".join(services["boss"]["healthcheck"]["test"])


def test_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    for name in ("boss", "postgres"):
        for volume in services[name].get("volumes", ()):
            assert volume.split(":")[0] in compose["volumes"], volume


@pytest.mark.parametrize("name", ["boss", "migrate"])
def test_service_environment_is_settings_boss_accepts(
    services: dict[str, Any], name: str, tmp_path: Path
) -> None:
    """`boss config show` accepts the service's environment (defaults of ${VAR:-x} applied)."""

    def interpolate(value: str) -> str:
        value = re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "secret", str(value))
        return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    env |= {k: interpolate(v) for k, v in services[name]["environment"].items()}
    env["BOSS_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [venv_bin("boss"), "config", "show"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_prometheus_retention_is_bounded_by_time_and_size(services: dict[str, Any]) -> None:
    """Whichever limit is hit first applies; the size guard keeps the disk from filling."""
    command = services["prometheus"]["command"]
    assert "--storage.tsdb.retention.time=${PROMETHEUS_RETENTION:-30d}" in command
    assert "--storage.tsdb.retention.size=${PROMETHEUS_RETENTION_SIZE:-50GB}" in command
