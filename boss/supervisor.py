"""Several uvicorn workers under a supervisor that replaces dead ones and tidies their metrics.

uvicorn's own ``Multiprocess`` supervisor already notices a worker that died (``SIGKILL``,
out of memory, a segfault) and starts a replacement. What it cannot know is that in
prometheus-client's multiprocess mode the dead worker leaves files behind: its counters
must stay (they were counted, and the replacement has a new pid, so nothing is doubled),
but its ``live*`` gauges (pool connections, in-flight requests) describe a process that no
longer exists and must go. ``BossSupervisor`` calls
``prometheus_client.multiprocess.mark_process_dead`` for every worker that leaves, whether
it died, hung or was replaced on ``SIGHUP``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from prometheus_client import multiprocess
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from uvicorn import Config

__all__ = ("BossSupervisor", "run_workers")

logger = logging.getLogger("boss.supervisor")


class BossSupervisor(Multiprocess):
    """uvicorn's multiprocess supervisor plus ``mark_process_dead`` for every departed worker."""

    def __init__(self, config: Config, *, metrics_dir: str | None, **kwargs: object) -> None:
        super().__init__(config, **kwargs)  # type: ignore[arg-type]
        self.metrics_dir = metrics_dir
        self.departed: list[int] = []
        """Pids of workers that left while the supervisor kept serving (for tests and logs)."""

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _forget(self, before: set[int]) -> None:
        for pid in sorted(before - self._pids()):
            self.departed.append(pid)
            if self.metrics_dir is not None:
                multiprocess.mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]
            logger.warning(
                "worker %d is gone; a replacement serves in its place (its counters are kept, "
                "its live gauges dropped)",
                pid,
            )

    def keep_subprocess_alive(self) -> None:
        """Replace dead or hung workers (uvicorn) and drop their live gauges (boss)."""
        before = self._pids()
        super().keep_subprocess_alive()
        self._forget(before)

    def restart_all(self) -> None:
        """``SIGHUP``: replace every worker one by one, dropping the old ones' live gauges."""
        before = self._pids()
        super().restart_all()
        self._forget(before)


def run_workers(config: Config, *, metrics_dir: str | None) -> None:
    """Serve ``config`` (an import string app, ``config.workers`` > 1) under ``BossSupervisor``.

    The same steps as ``uvicorn.run`` for several workers, with our supervisor.
    """
    sock = config.bind_socket()
    try:
        BossSupervisor(config, metrics_dir=metrics_dir, sockets=[sock]).run()
    except KeyboardInterrupt:  # pragma: no cover - the supervisor handles SIGINT itself
        pass
    finally:
        sock.close()
        if config.uds and os.path.exists(config.uds):
            os.remove(config.uds)
