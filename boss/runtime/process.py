"""Read one process's memory, CPU, file descriptors and start time from ``/proc``.

The same numbers prometheus-client's ``ProcessCollector`` reports, read as plain values so a
worker can store them in its own multiprocess gauges (custom collectors do not work there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ("ProcessReader", "ProcessStats")


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """One sample of a process's resource use (``None`` where the platform has no answer)."""

    resident_memory_bytes: float
    virtual_memory_bytes: float
    cpu_seconds: float
    start_time_seconds: float
    open_fds: float | None
    max_fds: float | None


class ProcessReader:
    """Reads ``ProcessStats`` of the calling process; ``available`` is False without ``/proc``."""

    __slots__ = ("_boot_time", "_pagesize", "_proc", "_ticks")

    def __init__(self, proc: str = "/proc") -> None:
        self._proc = proc
        try:
            self._ticks = float(os.sysconf("SC_CLK_TCK"))
            self._pagesize = float(os.sysconf("SC_PAGESIZE"))
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
            self._ticks, self._pagesize = 100.0, 4096.0
        self._boot_time = self._read_boot_time()

    def _read_boot_time(self) -> float | None:
        try:
            with open(os.path.join(self._proc, "stat"), "rb") as stat:
                for line in stat:
                    if line.startswith(b"btime "):
                        return float(line.split()[1])
        except OSError:
            pass
        return None

    @property
    def available(self) -> bool:
        """Whether this platform has a readable ``/proc``."""
        return self._boot_time is not None

    def read(self) -> ProcessStats | None:
        """The current stats of this process, or ``None`` when ``/proc`` cannot be read."""
        if self._boot_time is None:
            return None
        base = os.path.join(self._proc, "self")
        try:
            with open(os.path.join(base, "stat"), "rb") as stat:
                # The command name may contain spaces and parentheses: split after the last ')'.
                parts = stat.read().rsplit(b")", 1)[-1].split()
        except OSError:
            return None
        open_fds: float | None
        max_fds: float | None = None
        try:
            open_fds = float(len(os.listdir(os.path.join(base, "fd"))))
            with open(os.path.join(base, "limits"), "rb") as limits:
                for line in limits:
                    if line.startswith(b"Max open files"):
                        max_fds = float(line.split()[3])
                        break
        except (OSError, ValueError):
            open_fds = None
        return ProcessStats(
            resident_memory_bytes=float(parts[21]) * self._pagesize,
            virtual_memory_bytes=float(parts[20]),
            cpu_seconds=(float(parts[11]) + float(parts[12])) / self._ticks,
            start_time_seconds=float(parts[19]) / self._ticks + self._boot_time,
            open_fds=open_fds,
            max_fds=max_fds,
        )
