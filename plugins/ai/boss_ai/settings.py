"""The AI plugin's settings, read from ``BOSS_AI__*`` environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from boss_ai.draft import zone

__all__ = ("AISettings", "ProviderName")

ProviderName = Literal["offline", "openai"]


class AISettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which provider turns text into task drafts, and how the remote one is called."""

    provider: ProviderName = "offline"
    """``offline`` (deterministic rules, no network) or ``openai`` (any OpenAI-compatible API)."""
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://")] = "https://api.openai.com/v1"
    """Chat-completions base URL: OpenAI, DeepSeek, Ollama (``http://host:11434/v1``), vLLM …"""
    api_key: str = ""
    """Bearer key for the API (a secret; empty for servers that need none, such as Ollama)."""
    model: Annotated[str, msgspec.Meta(min_length=1)] = "gpt-4o-mini"
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """Seconds one request may take; beyond it the answer is 504 and nothing is retried."""
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    """Extra tries after 429, 5xx or a network error."""
    backoff_base: Annotated[float, msgspec.Meta(ge=0)] = 0.5
    """First wait in seconds when the provider gives no ``Retry-After``; doubles each try."""
    max_retry_wait: Annotated[float, msgspec.Meta(ge=0)] = 20.0
    """Longest wait before a retry; a provider asking for longer fails the request at once."""
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    """Sampling temperature sent to the model; unset sends none (reasoning models such as
    o1/o3/gpt-5 reject the parameter, so it is only sent when configured)."""
    timezone: str = "UTC"
    """The team's IANA time zone: "tomorrow", "Friday" and "end of day" are read in it;
    deadlines are stored in UTC."""

    def __post_init__(self) -> None:
        """Reject an unknown time zone when the settings load, naming the variable."""
        try:
            zone(self.timezone)
        except ValueError as exc:
            raise ValueError(f"BOSS_AI__TIMEZONE: {exc}") from None
