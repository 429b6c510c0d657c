"""boss plugin: task and alert notifications to Discord webhooks.

Delivery runs off the request path (a bounded queue and one worker), honours Discord's rate
limits and keeps webhook URLs, which are secrets, out of logs, metrics and error messages.
"""

from __future__ import annotations

from boss_discord.dispatcher import Dispatcher
from boss_discord.plugin import AlertDelivery, DiscordPlugin
from boss_discord.sender import DeliveryResult, DeliveryStatus, WebhookSender
from boss_discord.settings import DiscordSettings

__all__ = (
    "AlertDelivery",
    "DeliveryResult",
    "DeliveryStatus",
    "DiscordPlugin",
    "DiscordSettings",
    "Dispatcher",
    "WebhookSender",
)
