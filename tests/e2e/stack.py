"""Real Prometheus and Alertmanager processes on the configs ``boss monitoring build`` wrote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .net import WaitTimeout, free_port, wait_for
from .processes import ManagedProcess, ProcessGroup
from .promapi import AlertmanagerApi, PrometheusApi
from .tools import find_tool

__all__ = ("Alertmanager", "Prometheus")

START_TIMEOUT = 30.0
"""Seconds Prometheus or Alertmanager gets to report ready."""


class Prometheus:
    """A Prometheus on ``config`` with its TSDB under ``data_dir``, listening on 127.0.0.1."""

    __slots__ = ("api", "config", "data_dir", "port", "process")

    def __init__(self, config: Path, data_dir: Path, port: int | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.port = port if port is not None else free_port()
        self.api = PrometheusApi(f"http://127.0.0.1:{self.port}")
        self.process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """``host:port`` as a scrape target."""
        return f"127.0.0.1:{self.port}"

    def start(self, processes: ProcessGroup) -> None:
        """Start Prometheus and wait for ``/-/ready`` (fails with its log when it exits)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        process = processes.start(
            "prometheus",
            [
                find_tool("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address={self.address}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            cwd=self.config.parent,
        )
        self.process = process
        wait_for(
            f"Prometheus on {self.address} to be ready",
            lambda: _ready(process, self.api.ready),
            timeout=START_TIMEOUT,
            detail=process.describe,
        )


class Alertmanager:
    """An Alertmanager on ``config`` with its state under ``data_dir``, clustering off."""

    __slots__ = ("api", "config", "data_dir", "port", "process")

    def __init__(self, config: Path, data_dir: Path, port: int | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.port = port if port is not None else free_port()
        self.api = AlertmanagerApi(f"http://127.0.0.1:{self.port}")
        self.process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """``host:port`` as Prometheus's Alertmanager target and as a scrape target."""
        return f"127.0.0.1:{self.port}"

    def start(self, processes: ProcessGroup) -> None:
        """Start Alertmanager and wait for ``/-/ready``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        process = processes.start(
            "alertmanager",
            [
                find_tool("alertmanager", "prometheus-alertmanager"),
                f"--config.file={self.config}",
                f"--storage.path={self.data_dir}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            cwd=self.config.parent,
        )
        self.process = process
        wait_for(
            f"Alertmanager on {self.address} to be ready",
            lambda: _ready(process, self.api.ready),
            timeout=START_TIMEOUT,
            detail=process.describe,
        )


DEBIAN_TEMPLATES = "/usr/share/prometheus/alertmanager"
"""Where Debian's Alertmanager build reads its default notification templates (fixed path)."""


def _ready(process: ManagedProcess, probe: Callable[[], bool]) -> bool:
    """Whether ``probe`` says ready; gives up at once when the process has exited."""
    if not process.running():
        log = process.describe()
        hint = ""
        if DEBIAN_TEMPLATES in log:
            hint = (
                f"\nDebian's Alertmanager needs the package's templates in {DEBIAN_TEMPLATES}"
                " (default.tmpl, email.tmpl): run `bash scripts/fetch-tools.sh` as root to install them."
            )
        raise WaitTimeout(f"{process.name} exited during start-up:\n{log}{hint}")
    return probe()
