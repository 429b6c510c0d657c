"""Shared rate limiting: fixed windows per API key (or client address) and route group.

Counters live in Redis when ``BOSS_REDIS__URL`` is set, so every worker and replica
enforces one limit; in-process otherwise (N workers then allow N times the limit). A Redis
failure lets requests through (fail open) and is counted.

Choices: a fixed window that starts at a client's first request (one atomic Lua
``INCR``+``PEXPIRE``, anchored in Redis's clock, exact across instances) rather than a
sliding window (a sorted set per client: more memory and work per request for smoother
edges; a client can at most send twice the limit around a window boundary here). The key
is the API key's name under ``/api/`` (the limiter runs after authentication) or the
client address (``X-Forwarded-For`` only from ``trusted_proxies``); the route group is the
longest configured prefix (``BOSS_RATE_LIMIT__GROUPS``) or the first two segments of the
route template. ``/health*`` and the metrics path are never limited.
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
