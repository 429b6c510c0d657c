"""The one interface every provider implements, and the factory that picks one from settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

import anyio
import httpx

from boss_ai.draft import TaskDraft
from boss_ai.offline import OfflineProvider
from boss_ai.openai_compat import OpenAICompatibleProvider
from boss_ai.settings import AISettings

__all__ = ("Provider", "build_provider")


class Provider(Protocol):
    """Turns free text into a ``TaskDraft`` or raises ``boss_ai.errors.ProviderError``."""

    name: str

    async def draft(self, text: str, *, now: datetime, tz: tzinfo = UTC) -> TaskDraft:
        """The draft for ``text``; relative dates are read against ``now`` in zone ``tz``."""
        ...

    def describe(self) -> str:
        """A one-line readiness detail (no secrets)."""
        ...


def build_provider(
    settings: AISettings,
    client: httpx.AsyncClient | None,
    *,
    sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
    known_assignees: Iterable[str] = (),
) -> Provider:
    """The provider ``settings.provider`` names (``client`` is required for ``openai``)."""
    if settings.provider == "offline":
        return OfflineProvider(known_assignees)
    assert client is not None, "the openai provider needs an HTTP client"
    return OpenAICompatibleProvider(
        client,
        base_url=settings.base_url,
        model=settings.model,
        api_key=settings.api_key,
        timeout=settings.timeout,
        retries=settings.retries,
        backoff_base=settings.backoff_base,
        max_retry_wait=settings.max_retry_wait,
        temperature=settings.temperature,
        sleep=sleep,
    )
