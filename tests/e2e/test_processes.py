"""The harness's promise: whatever a test started is gone after ``ProcessGroup.close``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .processes import ProcessGroup, live_members

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print("READY", child.pid, flush=True)
time.sleep(600)
"""


def test_close_kills_a_process_tree_that_ignores_sigterm(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path, stop_timeout=0.5)
    process = group.start("stubborn", [sys.executable, "-c", STUBBORN])
    deadline = time.monotonic() + 20
    while "\nREADY " not in process.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(live_members(process.pid)) == 2, process.describe()
    stubborn = group.close()
    assert stubborn == []
    assert live_members(process.pid) == []
    assert not process.running()


def test_close_after_stop_does_not_signal_again(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    process = group.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
    process.stop()
    assert process.wait_group_gone()
    assert group.close() == []
