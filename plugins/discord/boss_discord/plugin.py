"""``DiscordPlugin``: task-event notifications and the admin test alert, sent off the request path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal

import httpx
import msgspec
from litestar import Litestar, Request, Response, post
from litestar.config.app import AppConfig
from litestar.events import EventListener, listener
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec

from boss import AlertRule, BossPlugin, MetricSpec, Panel, PluginContext, RuleTest
from boss.auth import ApiKey, require_admin
from boss.database import Database
from boss.errors import PROBLEM_JSON, Problem
from boss_discord.dispatcher import Dispatcher
from boss_discord.drainer import TOPICS, OutboxDrainer
from boss_discord.embeds import (
    BLOCKED_STATUSES,
    COMPLETED_STATUSES,
    alert_test_message,
    blocked_message,
    completed_message,
    created_message,
)
from boss_discord.observability import ALERTS, METRICS, PANELS, RULE_TESTS
from boss_discord.redaction import install_log_filter
from boss_discord.sender import WebhookSender
from boss_discord.settings import DiscordSettings

__all__ = ("AlertDelivery", "DiscordPlugin")

logger = logging.getLogger("boss.discord")


class AlertDelivery(msgspec.Struct, kw_only=True):
    """``POST /api/admin/test-alert`` answer: where it went and how it went."""

    channel: str
    status: Literal["sent", "queued"]
    attempts: int
    detail: str = ""


TEST_ALERT_WAIT = 30.0
"""Seconds ``POST /api/admin/test-alert`` waits for the delivery result before answering 202."""


class DiscordPlugin(BossPlugin):
    """Posts task events (created, completed, blocked) and test alerts to Discord webhooks."""

    name = "discord"
    title = "Discord notifications"
    metrics: ClassVar[tuple[MetricSpec, ...]] = METRICS
    alerts: ClassVar[tuple[AlertRule, ...]] = ALERTS
    rule_tests: ClassVar[tuple[RuleTest, ...]] = RULE_TESTS
    panels: ClassVar[tuple[Panel, ...]] = PANELS
    settings_type: ClassVar[type[Any] | None] = DiscordSettings
    migrations: ClassVar[str | None] = "boss_discord.migrations"

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``transport`` replaces httpx's network transport (embedding and tests only)."""
        self._transport = transport
        self.dispatcher: Dispatcher | None = None
        self.drainer: OutboxDrainer | None = None
        self._client: httpx.AsyncClient | None = None

    def setup(self, context: PluginContext) -> None:
        """Read the settings and keep the counter; the worker starts with the app."""
        super().setup(context)
        self.settings: DiscordSettings = context.config or DiscordSettings()
        self.settings.check()
        self.messages = context.metrics.counter("discord_messages_sent_total")
        # Only channels with a webhook are counted: export each at 0 from start-up.
        context.metrics.declare_label_values(
            "discord_messages_sent_total", "channel", self.settings.webhooks
        )
        install_log_filter()

    # -- lifecycle ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        client = httpx.AsyncClient(
            timeout=settings.timeout,
            transport=self._transport,
            headers={"User-Agent": "boss-discord (https://github.com/boss, 0.1.0)"},
        )
        self._client = client
        sender = WebhookSender(
            client,
            retries=settings.retries,
            backoff_base=settings.backoff_base,
            max_retry_wait=settings.max_retry_wait,
        )
        dispatcher = Dispatcher(
            webhooks=settings.webhooks,
            sender=sender,
            counter=self.messages,
            queue_size=settings.queue_size,
            drain_timeout=settings.drain_timeout,
        )
        await dispatcher.start()
        self.dispatcher = dispatcher
        if not settings.webhooks:
            logger.info("discord: no webhook configured, notifications are off")
        drainer = await self._start_outbox(sender)
        try:
            yield
        finally:
            if drainer is not None:
                await drainer.stop(settings.drain_timeout)
                self.drainer = None
            await dispatcher.stop()
            await client.aclose()
            self._client = None

    async def _start_outbox(self, sender: WebhookSender) -> OutboxDrainer | None:
        """Task events go through the database outbox when its table exists (migrated).

        Without it (``boss db upgrade`` not run) they fall back to the in-memory queue,
        which a restart loses; a warning says so.
        """
        settings = self.settings
        url = settings.webhooks.get(settings.task_channel)
        database = self.context.services.get(Database)
        if url is None or database is None:
            return None
        if not await database.outbox.exists():
            logger.warning(
                "discord: the outbox table is missing (run 'boss db upgrade'); task "
                "notifications use the in-memory queue and a restart loses what it holds"
            )
            return None
        database.outbox.subscribe(*TOPICS)
        drainer = OutboxDrainer(
            outbox=database.outbox,
            sender=sender,
            url=url,
            channel=settings.task_channel,
            counter=self.messages,
            settings=settings,
        )
        await drainer.start()
        self.drainer = drainer
        return drainer

    # -- events ------------------------------------------------------------------------------

    def _submit(self, channel: str, payload: dict[str, Any]) -> None:
        if self.drainer is not None and channel == self.settings.task_channel:
            return  # the outbox carries task events (staged with the change itself)
        if self.dispatcher is not None:
            self.dispatcher.submit(channel, payload)

    def _listeners(self) -> list[EventListener]:
        settings = self.settings
        channel = settings.task_channel

        @listener("task.created")
        async def on_task_created(task: Any = None, actor: str = "someone", **_: Any) -> None:
            self._submit(channel, created_message(task, actor, username=settings.username))

        @listener("task.status_changed")
        async def on_task_status_changed(
            task: Any = None,
            actor: str = "someone",
            new_status: Any = None,
            note: str | None = None,
            **_: Any,
        ) -> None:
            status = str(getattr(new_status, "value", new_status) or getattr(task, "status", ""))
            if status in COMPLETED_STATUSES:
                self._submit(
                    channel, completed_message(task, actor, note, username=settings.username)
                )
            elif status in BLOCKED_STATUSES:
                self._submit(
                    channel, blocked_message(task, actor, note, username=settings.username)
                )

        return [on_task_created, on_task_status_changed]

    # -- routes ------------------------------------------------------------------------------

    def _test_alert_handler(self) -> Any:
        plugin = self

        @post(
            "/api/admin/test-alert",
            guards=[require_admin],
            tags=["admin"],
            status_code=200,
            summary="Send a test message to the Discord alerts channel",
            responses={
                202: ResponseSpec(AlertDelivery, description="Still queued after the wait"),
                502: ResponseSpec(
                    dict[str, Any],
                    media_type=PROBLEM_JSON,
                    generate_examples=False,
                    description="Not delivered: rejected, webhook deleted or retries exhausted",
                ),
                409: ResponseSpec(
                    dict[str, Any],
                    media_type=PROBLEM_JSON,
                    generate_examples=False,
                    description="Not configured: no webhook for the alerts channel "
                    "(`setting` names the variable to set)",
                ),
                503: ResponseSpec(
                    dict[str, Any],
                    media_type=PROBLEM_JSON,
                    generate_examples=False,
                    description="The delivery queue is full",
                ),
            },
        )
        async def send_test_alert(request: Request[Any, Any, Any]) -> Response[AlertDelivery]:
            """Deliver a test message to the alerts channel and answer with the result."""
            settings = plugin.settings
            channel = settings.alert_channel
            dispatcher = plugin.dispatcher
            if dispatcher is None or not dispatcher.has_channel(channel):
                # A configuration state, not a server error: 409 naming the setting.
                setting = f"BOSS_DISCORD__WEBHOOKS__{channel.upper()}"
                raise Problem(
                    409,
                    f"No Discord webhook is configured for channel {channel!r} (set {setting})",
                    kind="not-configured",
                    extra={"channel": channel, "delivery": "not_configured", "setting": setting},
                )
            user = request.scope.get("user")
            who = user.name if isinstance(user, ApiKey) else "admin"
            payload = alert_test_message(
                who, plugin.context.settings.environment, username=settings.username
            )
            result = await dispatcher.deliver(channel, payload, TEST_ALERT_WAIT)
            if result is None:
                queued = AlertDelivery(
                    channel=channel, status="queued", attempts=0, detail="still queued"
                )
                return Response(queued, status_code=202)
            if result.status == "sent":
                sent = AlertDelivery(channel=channel, status="sent", attempts=result.attempts)
                return Response(sent, status_code=200)
            raise HTTPException(
                status_code=503 if result.status == "dropped" else 502,
                detail=f"The test alert was not delivered: {result.detail}",
                extra={"channel": channel, "delivery": result.status, "attempts": result.attempts},
            )

        return send_test_alert

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Register the event listeners, the test-alert route and the delivery lifespan."""
        app_config.listeners.extend(self._listeners())
        app_config.route_handlers.append(self._test_alert_handler())
        app_config.lifespan.append(self._lifespan)
        return app_config

    async def ping(self) -> str | None:
        """Readiness: a detail when nothing is configured; failing only if the worker died."""
        if not self.settings.webhooks:
            return "no webhook configured"
        dispatcher = self.dispatcher
        if dispatcher is None or not dispatcher.running:
            raise RuntimeError("the delivery worker is not running")
        return (
            f"channels: {', '.join(dispatcher.channels)}; "
            f"queued {dispatcher.queued}/{dispatcher.queue_size}"
        )
