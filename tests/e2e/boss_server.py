"""``boss serve --workers 2`` as a real server process that the test can stop and start again."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from .net import wait_http_ok
from .processes import ManagedProcess, ProcessGroup
from .tools import REPO_ROOT, venv_bin

__all__ = ("BossServer", "boss_env")

START_TIMEOUT = 120.0
"""Seconds ``boss serve`` gets to answer ``/health``: two workers import every plugin, and
under load uvicorn restarts a worker that misses its 5 s health check while importing."""


def boss_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any ``BOSS_*`` or multiprocess variable, plus ``settings``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BOSS_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(settings)
    return env


class BossServer:
    """One boss instance on a fixed port: ``start`` waits for ``/health``, ``stop`` by pid."""

    __slots__ = ("env", "health_polls", "host", "port", "process", "processes", "workers")

    def __init__(
        self, processes: ProcessGroup, *, port: int, env: Mapping[str, str], workers: int = 2
    ) -> None:
        self.processes = processes
        self.host = "127.0.0.1"
        self.port = port
        self.env = boss_env(env)
        self.workers = workers
        self.process: ManagedProcess | None = None
        self.health_polls = 0
        """Requests the last start's readiness polling made (``http_requests_total`` counts them)."""

    @property
    def address(self) -> str:
        """``host:port`` as a scrape target."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.address}"

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``boss <args>`` with the server's environment; AssertionError naming it on failure."""
        command = [venv_bin("boss"), *args]
        result = subprocess.run(
            command,
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"`boss {' '.join(args)}` exited with {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def migrate(self) -> None:
        """``boss db upgrade``: every enabled plugin's schema, before the first start."""
        self.cli("db", "upgrade")

    def start(self) -> None:
        """Start ``boss serve`` and wait until ``/health`` answers; fails with its log tail."""
        assert self.process is None or not self.process.running(), "boss is already running"
        process = self.processes.start(
            "boss",
            [
                venv_bin("boss"),
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "info",
            ],
            env=self.env,
            cwd=REPO_ROOT,
        )
        self.process = process
        self.health_polls = wait_http_ok(
            f"{self.url}/health",
            timeout=START_TIMEOUT,
            detail=process.describe,
            alive=process.running,
        )

    def stop(self) -> None:
        """SIGTERM the server's process group (parent and workers) and wait until all are gone."""
        if self.process is None:
            return
        self.process.stop()
        if not self.process.wait_group_gone():
            raise AssertionError(f"boss workers survived SIGKILL: {self.process.describe()}")

    def describe(self) -> str:
        """State and log tail for failure messages."""
        return self.process.describe() if self.process else "boss was never started"
