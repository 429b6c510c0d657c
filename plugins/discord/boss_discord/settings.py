"""The Discord plugin's settings, read from ``BOSS_DISCORD__*`` environment variables."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from boss.settings import SettingsError

__all__ = ("ChannelName", "DiscordSettings")

ChannelName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")]
_CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_URL_RE = re.compile(r"^https?://[^\s/]+/\S+$")


class DiscordSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Channels and delivery behaviour; no webhook at all means the plugin sends nothing."""

    webhooks: dict[str, str] = {}
    """Channel name to webhook URL (``BOSS_DISCORD__WEBHOOKS__TASKS=https://…``). Secrets."""
    task_channel: ChannelName = "tasks"
    """Channel that receives task events (created, completed, blocked)."""
    alert_channel: ChannelName = "alerts"
    """Channel that ``POST /api/admin/test-alert`` writes to."""
    username: str = "boss"
    """Name the webhook posts under."""
    queue_size: Annotated[int, msgspec.Meta(ge=1)] = 1000
    """Messages waiting for delivery; beyond this new ones are dropped (and counted)."""
    retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 4
    """Extra tries after the first for 429, 5xx and network errors before giving up."""
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    """Seconds one HTTP request to Discord may take."""
    backoff_base: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    """First wait in seconds after a 5xx or network error; doubles on every further try."""
    max_retry_wait: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    """Longest single wait (backoff or rate limit); a longer rate limit gives the message up."""
    drain_timeout: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    """Seconds shutdown waits for queued messages and a last outbox pass (what is left in the
    outbox stays there for the next start or another worker)."""
    outbox_interval: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """Seconds between outbox passes: a burst within one pass becomes one message."""
    outbox_batch: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 5000
    """Most events one pass claims (all of them go out as one message or one digest)."""
    outbox_lease: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    """Seconds a worker holds claimed events (renewed while its pass runs); a killed
    worker's events return to the others after at most this long."""
    outbox_max_age: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    """Events still undelivered after this many seconds are dropped (counted, alerting)."""
    digest_after: Annotated[int, msgspec.Meta(ge=1, le=10)] = 10
    """A pass with more events than this sends one digest instead of one embed per event."""
    digest_list: Annotated[int, msgspec.Meta(ge=0, le=20)] = 5
    """Tasks a digest lists by name per kind (the rest are only counted)."""

    def check(self) -> None:
        """Reject malformed channel names and webhook URLs, naming the variable, never the URL.

        (Checked here rather than in the field type so the message names the exact variable.)
        """
        for channel, url in self.webhooks.items():
            variable = f"BOSS_DISCORD__WEBHOOKS__{channel.upper()}"
            if not _CHANNEL_RE.match(channel):
                raise SettingsError(f"{variable}: channel names must match [a-z][a-z0-9_]*")
            if not _URL_RE.match(url):
                raise SettingsError(
                    f"{variable}: expected a webhook URL like "
                    "https://discord.com/api/webhooks/<id>/<token> (value not shown: it is a secret)"
                )
