"""A small circuit breaker, so that requests do not wait on a Redis that is down.

Closed: calls go through. After ``failures`` consecutive failures it opens: calls are
skipped (the cache answers as a miss at once). After ``cooldown`` seconds one probe call
is let through (half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

__all__ = ("BreakerState", "CircuitBreaker")

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Counts consecutive failures and decides whether the next call may try Redis."""

    __slots__ = ("_clock", "_failures", "_opened_at", "_probe_at", "cooldown", "state", "threshold")

    def __init__(
        self, failures: int = 3, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.state: BreakerState = "closed"
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._probe_at = 0.0

    @property
    def retry_in(self) -> float:
        """Seconds until the next probe may run (0 when closed or due)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def allow(self) -> bool:
        """Whether a call may go to Redis now (in half-open state: only the one probe)."""
        if self.state == "closed":
            return True
        now = self._clock()
        if self.state == "open":
            if now < self._opened_at + self.cooldown:
                return False
            self.state = "half_open"
            self._probe_at = now
            return True
        # half-open: a probe is in flight; let another one try if it never reported back
        if now >= self._probe_at + self.cooldown:
            self._probe_at = now
            return True
        return False

    def success(self) -> bool:
        """Record a successful call; returns True when this closed an open circuit."""
        self._failures = 0
        if self.state == "closed":
            return False
        self.state = "closed"
        return True

    def failure(self) -> bool:
        """Record a failed call; returns True when this opened the circuit."""
        self._failures += 1
        if self.state == "half_open" or (
            self.state == "closed" and self._failures >= self.threshold
        ):
            self.state = "open"
            self._opened_at = self._clock()
            return True
        if self.state == "open":
            self._opened_at = self._clock()
        return False
