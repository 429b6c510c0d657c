"""Child processes that always die: each runs in its own process group and is stopped by id.

A test that starts servers must stop them even when it fails half-way, so every process
is started through a ``ProcessGroup`` whose ``close`` (called from a fixture finalizer)
sends SIGTERM to each child's process group, waits a bounded time, then SIGKILLs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ("ManagedProcess", "ProcessGroup", "live_members")

STOP_TIMEOUT = 10.0
"""Seconds a process group gets after SIGTERM before it is SIGKILLed."""


class ManagedProcess:
    """One child started in a new session (so its pid is also its process-group id)."""

    __slots__ = ("_gone", "args", "log_path", "name", "popen")

    def __init__(
        self, name: str, popen: subprocess.Popen[bytes], args: Sequence[str], log_path: Path
    ) -> None:
        self.name = name
        self.popen = popen
        self.args = list(args)
        self.log_path = log_path
        self._gone = False

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process-group id."""
        return self.popen.pid

    def running(self) -> bool:
        """Whether the child has not exited yet."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the child's combined stdout/stderr, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def describe(self) -> str:
        """Name, pid, state and log tail, for assertion messages."""
        state = "running" if self.running() else f"exited with {self.popen.returncode}"
        return f"{self.name} (pid {self.pid}, {state}); last log lines:\n{self.log_tail()}"

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL; returns the code.

        A group already seen empty is not signalled again (its id could be reused by now).
        """
        if self._gone:
            return self.popen.returncode
        if self.running():
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        if self.running() or live_members(self.pid):
            # Workers may outlive their parent: make sure nothing of the group is left.
            self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process ignoring SIGKILL
            return None
        return self.popen.returncode

    def wait_group_gone(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Whether every member of the process group has exited within ``timeout`` s.

        Zombies count as gone: an orphaned member (multiprocessing's resource tracker) is
        reaped by PID 1 whenever PID 1 gets round to it, but it no longer runs.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not live_members(self.pid):
                self._gone = True
                return True
            time.sleep(0.05)
        return False


def live_members(pgid: int) -> list[int]:
    """Pids of the processes in group ``pgid`` that are not zombies (read from ``/proc``)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


class ProcessGroup:
    """Starts named children with logs in ``log_dir`` and stops every one of them on ``close``."""

    __slots__ = ("_children", "log_dir", "stop_timeout")

    def __init__(self, log_dir: Path, *, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        """Seconds each child gets after SIGTERM before SIGKILL."""
        self._children: list[ManagedProcess] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        """Start ``args`` in a new session; output goes to ``<log_dir>/<name>.log`` (appended)."""
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            log.write(f"--- start: {' '.join(args)}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        child = ManagedProcess(name, popen, args, log_path)
        self._children.append(child)
        return child

    def close(self) -> list[str]:
        """Stop every child (newest first); returns descriptions of any that would not die."""
        stubborn: list[str] = []
        for child in reversed(self._children):
            child.stop(self.stop_timeout)
            if not child.wait_group_gone():
                stubborn.append(f"{child.name} (pgid {child.pid})")
        self._children.clear()
        return stubborn
