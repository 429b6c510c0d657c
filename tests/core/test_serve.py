"""`boss serve` as a real process: third-party plugins through entry points, two workers
with one /metrics, the generated API key, and one-line CLI errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, API_KEYS
from tests.core.helpers import pip_install_into, value
from tests.e2e.net import free_port, wait_http_ok
from tests.e2e.processes import ProcessGroup

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[1] / "example_plugin"


def boss_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOSS_", "PROMETHEUS_"))}
    env.update(
        {
            "BOSS_DATA_DIR": str(tmp_path / "data"),
            "BOSS_API_KEYS": API_KEYS,
            "BOSS_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def run_boss(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "boss"), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def processes(tmp_path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path / "logs")
    yield group
    assert not group.close(), "some server processes would not stop"


def start_server(processes: ProcessGroup, env: dict[str, str], *args: str) -> tuple[str, object]:
    port = free_port()
    proc = processes.start(
        "boss", [str(BIN / "boss"), "serve", "--port", str(port), *args], env=env
    )
    base = f"http://127.0.0.1:{port}"
    wait_http_ok(f"{base}/health", timeout=60, detail=proc.describe, alive=proc.running)
    return base, proc


@pytest.fixture(scope="module")
def example_env(tmp_path_factory) -> dict[str, str]:
    """Install the example third-party distribution with pip into a folder of its own and
    put that folder on the servers' ``PYTHONPATH``: the plugin reaches boss only through its
    entry point, and the shared virtualenv (which other test runs use) is never modified.
    """
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "example_plugin"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip_install_into(source, target)
    assert list(target.glob("boss_example-1.0.0.dist-info/entry_points.txt"))
    return {"PYTHONPATH": str(target)}


def test_third_party_plugin_through_entry_points(example_env, tmp_path, processes):
    env = boss_env(tmp_path, **example_env)
    listing = run_boss("plugins", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if " example " in line)
    assert "boss-example" in row
    assert "1.0.0" in row
    assert "enabled" in row

    base, proc = start_server(processes, env)
    hello = httpx.get(f"{base}/api/example/hello", params={"language": "pt"}, headers=ADMIN)
    assert hello.status_code == 200, proc.describe()
    assert hello.json() == {"greeting": "Olá", "language": "pt"}
    metrics = httpx.get(f"{base}/metrics").text
    assert value(metrics, "example_greetings_total", language="pt") == 1
    proc.stop()

    disabled = boss_env(tmp_path, BOSS_PLUGINS__DISABLED="example", **example_env)
    listing = run_boss("plugins", "list", env=disabled)
    row = next(line for line in listing.stdout.splitlines() if " example " in line)
    assert "disabled" in row
    base, _ = start_server(processes, disabled)
    assert httpx.get(f"{base}/api/example/hello", headers=ADMIN).status_code == 404
    assert "example_greetings_total" not in httpx.get(f"{base}/metrics").text


def test_two_workers_share_one_metrics_endpoint(tmp_path, processes):
    env = boss_env(tmp_path)
    base, proc = start_server(processes, env, "--workers", "2")
    log = proc.log_path.read_text()
    metrics_dir = Path(re.search(r"multiprocess metrics in (\S+)", log).group(1))  # type: ignore[union-attr]
    sent = 120
    for _ in range(sent):
        # A new connection each time so the kernel spreads requests over both workers.
        with httpx.Client() as client:
            assert client.get(f"{base}/counted/by/both/workers").status_code == 404
    pids = {
        int(m.group(1)) for f in metrics_dir.iterdir() if (m := re.search(r"_(\d+)\.db$", f.name))
    }
    # A worker's first scrape starts its render child (seconds on a loaded 2-CPU machine).
    text = httpx.get(f"{base}/metrics", timeout=60).text
    assert (
        value(text, "http_requests_total", method="GET", endpoint="<unmatched>", status="404")
        == sent
    )
    assert len(pids) >= 2, f"expected files from two workers in {metrics_dir}, got {sorted(pids)}"
    proc.stop()
    assert not metrics_dir.exists(), "the multiprocess directory must be removed when serve stops"

    base, _ = start_server(processes, env, "--workers", "2")
    text = httpx.get(f"{base}/metrics", timeout=60).text
    assert (
        value(text, "http_requests_total", method="GET", endpoint="<unmatched>", status="404") == 0
    )


def test_first_serve_generates_and_prints_an_admin_key(tmp_path, processes):
    env = boss_env(tmp_path)
    del env["BOSS_API_KEYS"]
    base, proc = start_server(processes, env)
    match = re.search(r"generated an admin API key.*\n\s+(\S+)", proc.log_path.read_text())
    assert match, proc.describe()
    key = match.group(1)
    assert (
        httpx.get(f"{base}/api/whoami", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    me = httpx.get(f"{base}/api/whoami", headers={"Authorization": f"Bearer {key}"})
    assert me.json() == {"name": "admin", "role": "admin"}
    proc.stop()
    log_before = proc.log_path.read_text()
    _, proc2 = start_server(processes, env)
    assert proc2.log_path.read_text().count("generated an admin API key") == log_before.count(
        "generated an admin API key"
    )
    assert key not in proc2.log_path.read_text().replace(log_before, "")


@pytest.mark.parametrize(
    ("variable", "value_", "expected"),
    [
        (
            "BOSS_DATABASE__POOL_SIZE",
            "lots",
            "boss: error: BOSS_DATABASE__POOL_SIZE: Expected `int`",
        ),
        (
            "BOSS_PLUGINS__DISABLED",
            "core",
            "boss: error: BOSS_PLUGINS__DISABLED: the 'core' plugin",
        ),
        ("BOSS_API_KEYS", "admin:short", "boss: error: BOSS_API_KEYS (entry 1): key for 'admin'"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, variable, value_, expected):
    result = run_boss("serve", "--port", "0", env=boss_env(tmp_path, **{variable: value_}))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_config_show_redacts_secrets(tmp_path):
    env = boss_env(
        tmp_path,
        BOSS_DATABASE__URL="postgresql+asyncpg://boss:hunter2@db/boss",
        BOSS_METRICS__TOKEN="metrics-secret",
    )
    result = run_boss("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert "postgresql+asyncpg://boss:***@db/boss" in result.stdout
    for secret in ("hunter2", "metrics-secret", "admin-test-key"):
        assert secret not in result.stdout
