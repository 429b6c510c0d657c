"""The cache's metric children, created once so that the hot path is a dict look-up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boss_cache.fragments import REDIS_OPERATIONS

__all__ = ("CacheInstruments",)

_VALID = {
    "get": ("hit", "miss", "error"),
    "set": ("ok", "error"),
    "delete": ("ok", "error"),
    "incr": ("ok", "error"),
}


class CacheInstruments:
    """Counts cache results, times Redis calls, counts connection errors, shows the circuit."""

    __slots__ = ("_durations", "_results", "circuit_open", "connection_errors")

    def __init__(self, handles: Mapping[str, Any]) -> None:
        operations = handles["cache_operations_total"]
        durations = handles["redis_operation_duration_seconds"]
        # Every valid pair exists from the start, so rate() sees zeros rather than gaps.
        self._results = {
            (op, result): operations.labels(op, result)
            for op, results in _VALID.items()
            for result in results
        }
        self._durations = {op: durations.labels(op) for op in REDIS_OPERATIONS}
        self.connection_errors = handles["redis_connection_errors_total"]
        self.circuit_open = handles["cache_circuit_open"]

    def result(self, operation: str, result: str) -> None:
        """Count one ``operation`` that ended in ``result``."""
        self._results[(operation, result)].inc()

    def duration(self, operation: str, seconds: float) -> None:
        """Record one Redis round trip."""
        self._durations[operation].observe(seconds)
