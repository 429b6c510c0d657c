"""The cache plugin's settings, read from ``BOSS_CACHE__*`` variables."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ("CacheSettings",)

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class CacheSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """TTLs, the Redis key prefix, the in-process size bound and the circuit breaker."""

    item_ttl: PositiveInt = 300
    """Seconds a single record (``kind="item"``) stays cached."""
    list_ttl: PositiveInt = 30
    """Seconds a query result (``kind="list"``) stays cached."""
    prefix: str = "boss:cache:"
    """Redis key prefix; keys are ``<prefix><epoch>:<key>``, the epoch under ``<prefix>epoch``."""
    max_entries: PositiveInt = 10_000
    """In-process store only: entries kept before the oldest are evicted."""
    breaker_failures: PositiveInt = 3
    """Consecutive Redis failures that open the circuit (calls skip Redis meanwhile)."""
    breaker_cooldown: PositiveFloat = 5.0
    """Seconds the circuit stays open before one probe call may try Redis again."""

    @property
    def counter_ttl(self) -> int:
        """Seconds a counter (``incr``) lives after its last increment.

        Far longer than any cached list, so a counter that expires and restarts cannot meet
        an entry cached under its earlier value.
        """
        return max(86_400, 10 * self.list_ttl, 10 * self.item_ttl)
