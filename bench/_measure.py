"""One measured load run: wrk's numbers plus the server's CPU time per request.

Throughput on a shared machine moves with whatever else runs; CPU time per request moves
much less, so every run records both, and how busy other processes kept the server core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench._servers import Server, core_times
from bench._wrk import WrkResult, run_wrk

__all__ = ("BUSY", "Measured", "measure")

BUSY = 0.15
"""Share of the server core taken by other processes above which a run counts as disturbed."""


@dataclass(frozen=True)
class Measured:
    """A wrk run with ``cpu_us_per_request`` and ``others_share`` of the server core."""

    wrk: WrkResult
    cpu_us_per_request: float
    others_share: float
    """Fraction of the server core's time used by processes other than the server (0..1)."""

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON form."""
        return {
            **asdict(self.wrk),
            "cpu_us_per_request": self.cpu_us_per_request,
            "others_share": self.others_share,
        }


def measure(
    server: Server,
    url: str,
    *,
    seconds: float,
    connections: int,
    load_core: int | None,
    script: str = "",
    headers: dict[str, str] | None = None,
    check: bool = True,
    retries: int = 0,
) -> Measured:
    """Run wrk against ``url`` and account the server's CPU time; ``check`` rejects errors.

    With ``retries``, a run during which other processes took more than ``BUSY`` of the
    server core is repeated (up to ``retries`` times) and the quietest run is kept.
    """
    best: Measured | None = None
    for _ in range(1 + retries):
        run = _once(server, url, seconds, connections, load_core, script, headers, check)
        if best is None or run.others_share < best.others_share:
            best = run
        if run.others_share <= BUSY:
            break
    assert best is not None
    return best


def _once(
    server: Server,
    url: str,
    seconds: float,
    connections: int,
    load_core: int | None,
    script: str,
    headers: dict[str, str] | None,
    check: bool,
) -> Measured:
    cpu_before = server.cpu_seconds()
    busy_before, total_before = core_times(server.core)
    result = run_wrk(
        url,
        seconds=seconds,
        connections=connections,
        core=load_core,
        script=script,
        headers=headers,
    )
    busy_after, total_after = core_times(server.core)
    used = server.cpu_seconds() - cpu_before
    if check and (result.non_2xx or result.errors):
        raise RuntimeError(
            f"{server.name}: {result.non_2xx} non-2xx answers and {result.errors} socket errors "
            f"out of {result.requests} requests; the comparison would be meaningless"
        )
    total = max(total_after - total_before, 1e-9)
    others = max(0.0, (busy_after - busy_before) - used) / total
    return Measured(
        wrk=result,
        cpu_us_per_request=round(used / max(result.requests, 1) * 1e6, 1),
        others_share=round(min(others, 1.0), 3),
    )
