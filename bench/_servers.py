"""Start, probe and stop benchmarked servers, each pinned to the server core.

Every server is a separate process on 127.0.0.1 started through uvicorn with one set of
options (httptools, uvloop, access log off, log level warning), so peers differ only in
the app they serve.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = (
    "ROOT",
    "Server",
    "bench_plugin_path",
    "core_times",
    "cpu_seconds",
    "disable_builtin_plugins",
    "free_port",
    "http_get",
    "uvicorn_command",
    "vm_hwm_kib",
)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
_TICKS = os.sysconf("SC_CLK_TCK")
UVICORN_OPTIONS = (
    "--http",
    "httptools",
    "--loop",
    "uvloop",
    "--no-access-log",
    "--log-level",
    "warning",
)


def disable_builtin_plugins(keep: set[str]) -> str:
    """``BOSS_PLUGINS__DISABLED`` for every built-in plugin (``plugins/<name>/``) not in ``keep``.

    Only the built-in plugins are listed: a third-party plugin that another process installs
    or removes meanwhile (the test suite does) must not make the value name an unknown one.
    """
    names = {
        path.name for path in (ROOT / "plugins").glob("*") if (path / f"boss_{path.name}").is_dir()
    }
    return ",".join(sorted(names - keep - {"core"}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 30.0, headers: Mapping[str, str] | None = None) -> bytes:
    """The body of ``GET url`` (raises on non-2xx)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
        return body


def uvicorn_command(factory: str, port: int) -> list[str]:
    """``python -m uvicorn --factory bench.apps:<factory>`` with the shared options."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench.apps:{factory}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_OPTIONS,
    ]


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (``VmHWM``) of ``pid`` in KiB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used so far (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def core_times(core: int | None) -> tuple[float, float]:
    """(busy, total) seconds of one CPU (or of all when ``core`` is None), from /proc/stat."""
    label = "cpu" if core is None else f"cpu{core}"
    for line in Path("/proc/stat").read_text().splitlines():
        parts = line.split()
        if parts[0] == label:
            values = [int(v) for v in parts[1:9]]
            idle = values[3] + values[4]
            return (sum(values) - idle) / _TICKS, sum(values) / _TICKS
    return 0.0, 0.0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


@contextlib.contextmanager
def bench_plugin_path() -> Iterator[str]:
    """A ``PYTHONPATH`` entry that makes the bench plugin an installed ``boss.plugins`` entry point.

    Only processes started with it see the plugin, so ``boss serve`` can run the bench plugin
    through real entry-point discovery without installing anything into the project.
    """
    with tempfile.TemporaryDirectory(prefix="boss-bench-ep-") as tmp:
        info = Path(tmp) / "boss_bench_plugin-0.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: boss-bench-plugin\nVersion: 0.0.0\n"
        )
        (info / "entry_points.txt").write_text(
            "[boss.plugins]\nbench = bench.bench_plugin:BenchPlugin\n"
        )
        yield tmp


@dataclass
class Server:
    """One server process; ``pid`` is the process that serves (or the master for workers)."""

    name: str
    command: list[str]
    env: dict[str, str]
    core: int | None
    port: int
    ready_path: str = "/bench/tasks/1"
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(
        default_factory=lambda: Path(tempfile.mkstemp(prefix="boss-bench-", suffix=".log")[1])
    )

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until ``ready_path`` answers (and every worker is up)."""
        command = self.command
        if self.core is not None:
            command = ["taskset", "-c", str(self.core), *command]
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), self.env.get("PYTHONPATH", "")) if p
        )
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                http_get(self.base + self.ready_path, timeout=2)
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
                continue
            if len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        """The serving processes: the process itself, or its uvicorn workers."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        return [p for p in _children(self.process.pid) if self._is_worker(p)]

    @staticmethod
    def _is_worker(pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        # uvicorn's workers are multiprocessing spawn children; skip the resource tracker.
        return b"resource_tracker" not in cmdline

    def peak_rss_kib(self) -> int:
        """The largest ``VmHWM`` among the serving processes."""
        return max((vm_hwm_kib(pid) for pid in self.worker_pids()), default=0)

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the serving processes."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def stop(self) -> None:
        """SIGTERM the process (uvicorn stops its workers) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT if self.workers > 1 else signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self.log.unlink()
