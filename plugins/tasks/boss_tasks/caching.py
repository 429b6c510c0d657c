"""Cache-aside for task reads, through the core's ``Cache`` protocol when a cache is enabled.

Single tasks live under ``boss:task:<id>:<item generation>``; list answers under
``boss:tasks:list:<generation>:<hash of the filters>``. A reader takes the generation
*before* it reads the database and stores what it read under that generation; every
committed write bumps the task's and the list generation before the client gets its
answer. So a read after a write never sees old data (also on another instance sharing the
cache), and a slow reader that fetched the old row just before a write can only store it
under a generation nobody asks for any more (plain delete-on-write would let it put the
old row back for a whole TTL).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import msgspec

from boss.cache import Cache
from boss_tasks.models import Task, TaskPage

__all__ = ("GENERATION_KEY", "TaskCache", "item_generation_key")

GENERATION_KEY = "boss:tasks:list:gen"
logger = logging.getLogger("boss.tasks")


def item_generation_key(task_id: str) -> str:
    """The cache key of one task's generation counter."""
    return f"boss:task:{task_id}:gen"


class TaskCache:
    """Reads and invalidation around an optional ``Cache`` (a no-op without one)."""

    __slots__ = ("_cache", "_page_decoder", "_task_decoder")

    def __init__(self, cache: Cache | None) -> None:
        self._cache = cache
        self._task_decoder = msgspec.json.Decoder(Task)
        self._page_decoder = msgspec.json.Decoder(TaskPage)

    @property
    def enabled(self) -> bool:
        """Whether a cache is configured."""
        return self._cache is not None

    async def _generation(self, key: str) -> bytes | None:
        """The current value of a generation counter, creating it when absent."""
        assert self._cache is not None
        generation = await self._cache.get(key)
        if generation is None:
            bumped = await self._cache.incr(key)
            if bumped is None:
                return None  # the cache is unavailable: read the database
            generation = str(bumped).encode()
        return generation

    async def item_key(self, task_id: str) -> str | None:
        """The key for ``task_id`` under its current generation (``None``: do not cache)."""
        if self._cache is None:
            return None
        generation = await self._generation(item_generation_key(task_id))
        if generation is None:
            return None
        return f"boss:task:{task_id}:{generation.decode(errors='replace')}"

    async def get_task(self, key: str) -> Task | None:
        """The cached task under ``key``, or ``None``."""
        if self._cache is None:
            return None
        raw = await self._cache.get(key)
        if raw is None:
            return None
        try:
            return self._task_decoder.decode(raw)
        except msgspec.DecodeError:
            logger.warning("ignoring an undecodable cache entry %s", key)
            return None

    async def put_task(self, key: str, task: Task) -> None:
        """Remember ``task`` under the key taken before the database read."""
        if self._cache is not None:
            await self._cache.set(key, msgspec.json.encode(task), kind="item")

    async def list_key(self, filters: Mapping[str, object]) -> str | None:
        """The key for a listing with ``filters`` under the current generation, if any."""
        if self._cache is None:
            return None
        generation = await self._generation(GENERATION_KEY)
        if generation is None:
            return None
        digest = hashlib.sha256(msgspec.json.encode(filters, order="sorted")).hexdigest()[:24]
        return f"boss:tasks:list:{generation.decode(errors='replace')}:{digest}"

    async def get_page(self, key: str) -> TaskPage | None:
        """A cached listing, or ``None``."""
        if self._cache is None:
            return None
        raw = await self._cache.get(key)
        if raw is None:
            return None
        try:
            return self._page_decoder.decode(raw)
        except msgspec.DecodeError:
            return None

    async def put_page(self, key: str, page: TaskPage) -> None:
        """Remember a listing."""
        if self._cache is not None:
            await self._cache.set(key, msgspec.json.encode(page), kind="list")

    async def invalidate(self, task_id: str) -> None:
        """After a committed write: forget the task and every cached listing."""
        if self._cache is not None:
            await self._cache.incr(item_generation_key(task_id))
            await self._cache.incr(GENERATION_KEY)
