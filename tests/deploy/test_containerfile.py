"""The Containerfile: what matters read from the file, and its entry command run for real.

No image can be built here (no registry to pull a base image from), so the test checks the
file's promises — multi-stage, wheels only, non-root, healthcheck — and runs the final
stage's ENTRYPOINT + CMD with its ENV outside a container: it must serve /health on all
interfaces, and the HEALTHCHECK command must pass against it and fail once it stops.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.net import free_port, wait_for
from tests.e2e.tools import REPO_ROOT, venv_bin

from .containerfile import Stage, exec_form, parse_env, read_stages

CONTAINERFILE = REPO_ROOT / "Containerfile"
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|cc|clang|make|build-essential|libc6-dev|python3-dev|cargo|rustc|"
    r"apt-get|apt|apk|git|curl|wget)\b"
)


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    found = read_stages(CONTAINERFILE)
    assert len(found) >= 2, "expected a multi-stage build"
    return found


def test_multi_stage_on_a_slim_python(stages: list[Stage]) -> None:
    text = CONTAINERFILE.read_text()
    (image,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"docker\.io/library/python:3\.1[1-9]-slim(-\w+)?", image)
    assert all(stage.base == "${PYTHON_IMAGE}" for stage in stages)
    builder = stages[0]
    assert builder.name == "builder"
    (wheel,) = builder.all("RUN")
    assert "pip wheel --wheel-dir /wheels" in wheel
    plugins = sorted(
        p.name for p in (REPO_ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file()
    )
    for plugin in plugins:
        assert f"plugins/{plugin}" in wheel, f"plugin {plugin} is not built into the image"
    assert wheel.split("/wheels", 1)[1].split()[0] == "."  # the core distribution first


def test_final_stage_installs_only_the_built_wheels(stages: list[Stage]) -> None:
    final = stages[-1]
    installs = [run for run in final.all("RUN") if "pip install" in run]
    assert len(installs) == 1
    (install,) = installs
    assert "--mount=type=bind,from=builder,source=/wheels,target=/wheels" in install
    assert "--no-index" in install
    assert "--find-links=/wheels" in install
    assert "--no-cache-dir" in install
    packages = install.split("--find-links=/wheels", 1)[1].split()
    plugins = sorted(
        p.name for p in (REPO_ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file()
    )
    assert sorted(packages) == sorted(["boss", *(f"boss-{p}" for p in plugins)])
    assert final.all("COPY") == [], "the final stage copies no source; it installs wheels"


def test_final_stage_has_no_compilers_or_build_tools(stages: list[Stage]) -> None:
    final = stages[-1]
    for run in final.all("RUN"):
        assert not BUILD_TOOLS.search(run), f"build tool in the final stage: {run}"


def test_final_stage_runs_as_a_non_root_user(stages: list[Stage]) -> None:
    final = stages[-1]
    users = final.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric USER lets Kubernetes' runAsNonRoot verify it"
    assert any(f"--uid {user}" in run for run in final.all("RUN"))
    last_user = max(i for i, ins in enumerate(final.instructions) if ins.keyword == "USER")
    assert all(ins.keyword not in ("RUN",) for ins in final.instructions[last_user:])


def test_healthcheck_probes_health_without_curl(stages: list[Stage]) -> None:
    (check,) = stages[-1].all("HEALTHCHECK")
    assert "CMD [" in check
    command = exec_form(check.split("CMD", 1)[1].strip())
    assert command[:2] == ["python", "-c"]
    assert "/health" in command[2]


def _container_command(final: Stage) -> tuple[list[str], dict[str, str]]:
    (entrypoint,) = final.all("ENTRYPOINT")
    (cmd,) = final.all("CMD")
    return exec_form(entrypoint) + exec_form(cmd), parse_env(final)


def test_image_environment_binds_all_interfaces(stages: list[Stage]) -> None:
    command, env = _container_command(stages[-1])
    assert command == ["boss", "serve"]
    assert env["BOSS_SERVER__HOST"] == "0.0.0.0"
    assert env["BOSS_SERVER__PORT"] == "8000"
    assert "8000" in stages[-1].all("EXPOSE")


@pytest.fixture
def container_like(stages: list[Stage], tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The final stage's command and ENV, run here: only the port and data dir differ."""
    command, image_env = _container_command(stages[-1])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= image_env | {"BOSS_SERVER__PORT": str(port), "BOSS_DATA_DIR": str(tmp_path / "data")}
    executable = shutil.which(command[0]) or venv_bin(command[0])
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [executable, *command[1:]],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(
            "boss serve to answer /health",
            lambda: (
                process.poll() is None
                and httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            ),
            timeout=90,
            detail=lambda: (tmp_path / "serve.log").read_text()[-2000:],
        )
        yield port, env
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _healthcheck(stages: list[Stage], env: dict[str, str]) -> int:
    (check,) = stages[-1].all("HEALTHCHECK")
    command = exec_form(check.split("CMD", 1)[1].strip())
    python = shutil.which(command[0], path=env.get("PATH")) or "python3"
    return subprocess.run(
        [python, *command[1:]], env=env, capture_output=True, timeout=30
    ).returncode


def test_entry_command_serves_health_on_all_interfaces(
    stages: list[Stage], container_like: tuple[int, dict[str, str]]
) -> None:
    port, env = container_like
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["status"] == "ok"
    # 127.0.0.2 is loopback too, but only a server bound to 0.0.0.0 accepts it
    with socket.create_connection(("127.0.0.2", port), timeout=5):
        pass
    assert httpx.get(f"http://127.0.0.2:{port}/health/ready", timeout=10).status_code == 200
    assert _healthcheck(stages, env) == 0


def test_healthcheck_fails_without_a_server(stages: list[Stage]) -> None:
    env = {**os.environ, "BOSS_SERVER__PORT": str(free_port())}
    assert _healthcheck(stages, env) != 0


def test_build_context_is_limited_by_the_ignore_files() -> None:
    for name in (".containerignore", ".dockerignore"):
        lines = [
            line.strip()
            for line in (REPO_ROOT / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert lines[0] == "*", f"{name} should exclude everything by default"
        assert {"!pyproject.toml", "!README.md", "!boss", "!plugins"} <= set(lines)
        assert "**/*.egg-info" in lines
    copied = {
        line.split()[1]
        for line in CONTAINERFILE.read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert copied <= {"pyproject.toml", "boss", "plugins"}
