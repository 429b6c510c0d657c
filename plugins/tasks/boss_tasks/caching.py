"""Cache-aside for task reads, through the core's ``Cache`` protocol when a cache is enabled.

Single tasks live under ``boss:task:<id>``; list answers under
``boss:tasks:list:<generation>:<hash of the filters>``. Every committed write deletes the
task's key and bumps the generation before the client gets its answer, so a read after a
write never sees old data, also on another instance that shares the cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import msgspec

from boss.cache import Cache
from boss_tasks.models import Task, TaskPage

__all__ = ("GENERATION_KEY", "TaskCache", "item_key")

GENERATION_KEY = "boss:tasks:list:gen"
logger = logging.getLogger("boss.tasks")


def item_key(task_id: str) -> str:
    """The cache key of one task."""
    return f"boss:task:{task_id}"


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

    async def get_task(self, task_id: str) -> Task | None:
        """The cached task, or ``None``."""
        if self._cache is None:
            return None
        raw = await self._cache.get(item_key(task_id))
        if raw is None:
            return None
        try:
            return self._task_decoder.decode(raw)
        except msgspec.DecodeError:
            logger.warning("ignoring an undecodable cache entry for %s", task_id)
            return None

    async def put_task(self, task: Task) -> None:
        """Remember ``task``."""
        if self._cache is not None:
            await self._cache.set(item_key(task.id), msgspec.json.encode(task), kind="item")

    async def list_key(self, filters: Mapping[str, object]) -> str | None:
        """The key for a listing with ``filters`` under the current generation, if any."""
        if self._cache is None:
            return None
        generation = await self._cache.get(GENERATION_KEY)
        if generation is None:
            bumped = await self._cache.incr(GENERATION_KEY)
            if bumped is None:
                return None  # the cache is unavailable: read the database
            generation = str(bumped).encode()
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
            await self._cache.delete(item_key(task_id))
            await self._cache.incr(GENERATION_KEY)
