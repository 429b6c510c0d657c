"""Shared rate limiting: fixed windows per API key (or client address) and route group.

Counters live in Redis when ``BOSS_REDIS__URL`` is set, so every worker and replica
enforces one limit; in-process otherwise. A Redis failure lets requests through (fail
open) and is counted. See ``docs/architecture.md`` ("Rate limiting") for the choices.
"""

from __future__ import annotations

from boss.ratelimit.fragments import (
    RATE_LIMIT_ALERTS,
    RATE_LIMIT_METRICS,
    RATE_LIMIT_PANELS,
    RATE_LIMIT_RULE_TESTS,
)
from boss.ratelimit.limiter import Decision, RateLimiter
from boss.ratelimit.middleware import RateLimitMiddleware, identity_of
from boss.ratelimit.windows import MemoryWindows, RedisWindows, Windows

__all__ = (
    "RATE_LIMIT_ALERTS",
    "RATE_LIMIT_METRICS",
    "RATE_LIMIT_PANELS",
    "RATE_LIMIT_RULE_TESTS",
    "Decision",
    "MemoryWindows",
    "RateLimitMiddleware",
    "RateLimiter",
    "RedisWindows",
    "Windows",
    "identity_of",
)
