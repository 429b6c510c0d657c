"""Drive wrk (pinned to the load core) and read its results as numbers, not text.

A Lua ``done`` hook prints one JSON line with the request count, errors (including non-2xx
answers) and latency percentiles in microseconds; optional ``request`` hooks vary the path
(random task ids) or send POST bodies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = (
    "RANDOM_GET",
    "WrkResult",
    "require_wrk",
    "run_wrk",
)

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "connect": %.0f, '
    .. '"read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, "p50_us": %.1f, '
    .. '"p90_us": %.1f, "p99_us": %.1f, "max_us": %.1f, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""

RANDOM_GET = """
local counter = 0
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  return wrk.format("GET", "{prefix}" .. math.random(1, 1000000000))
end
"""
"""GET ``{prefix}<random id>``: every request names a different task."""


def require_wrk() -> str:
    """The wrk executable, or exit with how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "bench: wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk "
            "(https://github.com/wg/wrk for other systems)."
        )
    return found


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput and latency (milliseconds), with error counts."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    non_2xx: int

    @classmethod
    def parse(cls, output: str) -> WrkResult:
        """Read the ``WRKJSON`` line from wrk's output."""
        for line in output.splitlines():
            if line.startswith("WRKJSON "):
                raw = json.loads(line[len("WRKJSON ") :])
                seconds = raw["duration_us"] / 1e6
                return cls(
                    requests=int(raw["requests"]),
                    seconds=round(seconds, 3),
                    rps=round(raw["requests"] / seconds, 1),
                    p50_ms=round(raw["p50_us"] / 1000, 3),
                    p90_ms=round(raw["p90_us"] / 1000, 3),
                    p99_ms=round(raw["p99_us"] / 1000, 3),
                    max_ms=round(raw["max_us"] / 1000, 3),
                    mean_ms=round(raw["mean_us"] / 1000, 3),
                    errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
                    non_2xx=int(raw["status"]),
                )
        raise RuntimeError(f"wrk printed no result line:\n{output}")


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    core: int | None,
    script: str = "",
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` with ``connections`` open connections."""
    wrk = require_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + _DONE)
        lua = Path(handle.name)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        lua.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return WrkResult.parse(done.stdout)
