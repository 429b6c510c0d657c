"""What each uvicorn worker of a multi-worker boss counted, read from its own metrics file.

prometheus-client's multiprocess mode keeps one ``counter_<pid>.db`` per worker in the
directory ``boss serve`` announces on start; reading the files one by one shows how the
requests spread over the workers, which ``/metrics`` (the sum) cannot.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ("metrics_dir_from_log", "requests_per_worker")

_DIR_RE = re.compile(r"multiprocess metrics in (\S+)")


def metrics_dir_from_log(log: str) -> Path:
    """The multiprocess directory the last ``boss serve`` start announced in its log."""
    found = _DIR_RE.findall(log)
    if not found:
        raise AssertionError("boss serve did not announce a multiprocess metrics directory")
    return Path(found[-1])


def requests_per_worker(directory: Path, endpoint: str) -> dict[int, float]:
    """``http_requests_total`` for ``endpoint`` (all methods and statuses) per worker pid."""
    counts: dict[int, float] = {}
    for path in sorted(directory.glob("counter_*.db")):
        pid = int(path.stem.split("_")[1])
        total = 0.0
        for metric in MultiProcessCollector.merge([str(path)]):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                if (
                    sample.name == "http_requests_total"
                    and sample.labels.get("endpoint") == endpoint
                ):
                    total += sample.value
        counts[pid] = total
    return counts
