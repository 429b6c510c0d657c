"""The cache contract the core defines and the ``cache`` plugin implements.

Plugins look a ``Cache`` up in ``PluginContext.services``; when no cache plugin is enabled
they simply read through to the database. A cache never raises: failures are counted by
the implementation and reported as misses.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

__all__ = ("Cache", "CacheKind")

CacheKind = Literal["item", "list"]
"""Which TTL applies: single records (``item``) or query results (``list``)."""


@runtime_checkable
class Cache(Protocol):
    """A best-effort, shared key-value cache (Redis, or in-process when none is configured)."""

    async def get(self, key: str) -> bytes | None:
        """The cached bytes, or ``None`` on a miss or when the cache is unavailable."""
        ...

    async def set(self, key: str, value: bytes, *, kind: CacheKind = "item") -> None:
        """Store ``value`` with the TTL configured for ``kind``."""
        ...

    async def delete(self, *keys: str) -> None:
        """Remove ``keys``; used for invalidation after a write commits."""
        ...

    async def incr(self, key: str) -> int | None:
        """Atomically increment a counter (generation numbers); ``None`` when unavailable."""
        ...
