"""The rate-limit decision: which group a route belongs to, how many requests are left.

Cheap on the hot path: the group of a route template is computed once and cached, a client
that is already over its limit is refused from a local note until its window resets
(no Redis round trip), and a failing Redis is left alone for a short cool-down so that
requests never queue behind it (they pass unchecked meanwhile: fail open, counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from boss.ratelimit.windows import MemoryWindows, RedisWindows, Windows
from boss.settings import Settings, SettingsError

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge
    from redis.asyncio import Redis

__all__ = (
    "BACKEND_RETRY_AFTER",
    "NEAR_LIMIT_RATIO",
    "Decision",
    "RateLimiter",
    "parse_groups",
    "parse_proxies",
)

NEAR_LIMIT_RATIO = 0.8
"""A client counts in ``rate_limit_near_limit`` from this share of its limit on."""
BACKEND_RETRY_AFTER = 2.0
"""Seconds the limiter leaves a failed Redis alone before trying it again."""
# RuntimeError: redis-py on uvloop writing to a transport Redis just closed (see boss_cache).
_BACKEND_ERRORS = (RedisError, OSError, TimeoutError, RuntimeError)
logger = logging.getLogger("boss.ratelimit")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Decision:
    """The answer for one request: allowed or not, and the ``RateLimit-*`` header values."""

    __slots__ = ("allowed", "limit", "remaining", "reset")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset: float) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset

    @property
    def reset_seconds(self) -> int:
        """Whole seconds until the window resets (at least 1, as ``Retry-After`` needs)."""
        return max(1, math.ceil(self.reset))

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The ``RateLimit-*`` headers as ASGI header pairs, for successful answers."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_seconds),
        ]

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def parse_groups(entries: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``/prefix=requests`` entries as ``(prefix, requests)``, longest prefix first."""
    groups: list[tuple[str, int]] = []
    for entry in entries:
        prefix, _, number = entry.partition("=")
        prefix = prefix.rstrip("/") or "/"
        groups.append((prefix, int(number)))
    return tuple(sorted(groups, key=lambda item: len(item[0]), reverse=True))


def parse_proxies(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Trusted proxy addresses or networks; a bad entry is a ``SettingsError`` naming it."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingsError(
                f"BOSS_RATE_LIMIT__TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _first_segments(path: str) -> str:
    parts = path.split("/", 3)
    return "/".join(parts[:3]) if len(parts) > 2 else path


class RateLimiter:
    """Fixed-window limits per client and route group, shared through Redis when configured."""

    __slots__ = (
        "_backend_errors",
        "_blocked",
        "_clock",
        "_down_until",
        "_groups",
        "_near",
        "_near_gauge",
        "_proxies",
        "_redis",
        "_route_groups",
        "_task",
        "_violation_children",
        "_violations",
        "_windows",
        "default_limit",
        "exempt",
        "window",
    )

    def __init__(
        self,
        settings: Settings,
        *,
        violations: Counter,
        near_limit: Gauge,
        backend_errors: Counter,
        exempt: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = settings.rate_limit
        self.window = float(config.window)
        self.default_limit = config.requests
        self.exempt = exempt
        """Exact paths never limited (``/metrics``); every ``/health*`` path is exempt too."""
        self._groups = parse_groups(config.groups)
        self._proxies = parse_proxies(config.trusted_proxies)
        self._clock = clock
        self._violations = violations
        self._near_gauge = near_limit
        self._backend_errors = backend_errors
        self._violation_children: dict[str, Any] = {}
        self._route_groups: dict[str, tuple[str, int]] = {}
        self._blocked: dict[str, float] = {}
        self._near: dict[str, float] = {}
        self._down_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._redis: Redis | None = None
        self._windows: Windows
        if settings.redis.url:
            self._redis = _redis_client(settings.redis.url, settings.redis.socket_timeout)
            self._windows = RedisWindows(self._redis, config.redis_prefix)
        else:
            self._windows = MemoryWindows(clock)

    @classmethod
    def from_handles(cls, settings: Settings, handles: Mapping[str, Any]) -> RateLimiter:
        """A limiter using the core's rate-limit metric handles; ``/metrics`` is exempt."""
        return cls(
            settings,
            violations=handles["rate_limit_violations_total"],
            near_limit=handles["rate_limit_near_limit"],
            backend_errors=handles["rate_limit_backend_errors_total"],
            exempt=frozenset({settings.metrics.path}),
        )

    @property
    def shared(self) -> bool:
        """Whether the counters live in Redis (shared by every worker and replica)."""
        return self._redis is not None

    def is_exempt(self, path: str) -> bool:
        """Health checks and the metrics endpoint are never limited."""
        return path in self.exempt or path == "/health" or path.startswith("/health/")

    def group_of(self, template: str) -> tuple[str, int]:
        """The route group of a route template and its limit (cached per template)."""
        found = self._route_groups.get(template)
        if found is None:
            found = (_first_segments(template), self.default_limit)
            for prefix, limit in self._groups:
                if prefix == "/" or template == prefix or template.startswith(prefix + "/"):
                    found = (prefix, limit)
                    break
            if len(self._route_groups) < 10_000:  # templates are bounded; raw paths are not
                self._route_groups[template] = found
        return found

    def client_address(self, scope: Mapping[str, Any]) -> str:
        """The caller's address: the peer, or ``X-Forwarded-For`` when the peer is trusted.

        The forwarded list is read from the right, skipping trusted proxies, so a client
        cannot choose its own identity by sending the header itself.
        """
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self._proxies or not self._trusted(peer):
            return peer
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
        ]
        if not forwarded:
            return peer
        hops = [hop.strip() for hop in ",".join(forwarded).split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._proxies)

    async def check(self, identity: str, template: str) -> Decision | None:
        """Count one request of ``identity`` on ``template``; ``None`` when it went unchecked.

        Unchecked means Redis failed (or is in its cool-down): the request passes (fail open)
        and the failure is counted in ``rate_limit_backend_errors_total``.
        """
        group, limit = self.group_of(template)
        key = f"{group}|{identity}"
        now = self._clock()
        blocked_until = self._blocked.get(key)
        if blocked_until is not None:
            if blocked_until > now:
                self._violation(template)
                return Decision(False, limit, 0, blocked_until - now)
            del self._blocked[key]
        if self._down_until > now:
            return None
        try:
            count, reset = await self._windows.hit(key, self.window)
        except _BACKEND_ERRORS as exc:
            self._backend_errors.inc()
            self._down_until = self._clock() + BACKEND_RETRY_AFTER
            logger.warning("rate limiter: Redis failed (%s); failing open", type(exc).__name__)
            return None
        if count >= limit * NEAR_LIMIT_RATIO and key not in self._near:
            self._near[key] = now + reset
            self._near_gauge.set(len(self._near))
        if count > limit:
            self._blocked[key] = now + reset
            self._violation(template)
            return Decision(False, limit, 0, reset)
        return Decision(True, limit, limit - count, reset)

    def _violation(self, template: str) -> None:
        child = self._violation_children.get(template)
        if child is None:
            child = self._violations.labels(template)
            self._violation_children[template] = child
        child.inc()

    def prune(self) -> None:
        """Forget ended windows and refresh ``rate_limit_near_limit``."""
        now = self._clock()
        for notes in (self._blocked, self._near):
            for key in [key for key, until in notes.items() if until <= now]:
                del notes[key]
        self._windows.prune()
        self._near_gauge.set(len(self._near))

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.prune()

    async def start(self) -> None:
        """App start-up: begin refreshing the near-limit gauge every second."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._prune_forever())

    async def close(self) -> None:
        """App shutdown: stop the refresher and close the Redis connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._redis is not None:
            await self._redis.aclose()


def _redis_client(url: str, timeout: float) -> Redis:
    """A Redis client that fails fast: short timeouts and no retries (we fail open instead)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
