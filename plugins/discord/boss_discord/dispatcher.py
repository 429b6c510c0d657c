"""The delivery queue: messages are queued on the request path and sent by one worker task.

The queue is bounded (a full queue drops new messages and counts them), every message ends
in exactly one ``discord_messages_sent_total`` status, and shutdown drains within a timeout:
whatever is still queued or in flight afterwards is counted as ``unsent`` and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter as Tally
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boss_discord.redaction import scrub
from boss_discord.sender import DeliveryResult, DeliveryStatus, WebhookSender

if TYPE_CHECKING:
    from prometheus_client import Counter

__all__ = ("Dispatcher", "Outgoing")

logger = logging.getLogger("boss.discord")


class Outgoing:
    """One queued message, and the future of whoever waits for its result."""

    __slots__ = ("channel", "payload", "result")

    def __init__(
        self,
        channel: str,
        payload: dict[str, Any],
        result: asyncio.Future[DeliveryResult] | None = None,
    ) -> None:
        self.channel = channel
        self.payload = payload
        self.result = result


class Dispatcher:
    """Owns the queue and the worker; the plugin starts and stops it with the app."""

    def __init__(
        self,
        *,
        webhooks: Mapping[str, str],
        sender: WebhookSender,
        counter: Counter,
        queue_size: int = 1000,
        drain_timeout: float = 10.0,
    ) -> None:
        self._webhooks = dict(webhooks)
        self._sender = sender
        self._counter = counter
        self._queue_size = queue_size
        self._drain_timeout = drain_timeout
        self._queue: asyncio.Queue[Outgoing] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._current: Outgoing | None = None
        self._accepting = False

    @property
    def channels(self) -> tuple[str, ...]:
        """Names of the channels that have a webhook."""
        return tuple(sorted(self._webhooks))

    @property
    def running(self) -> bool:
        """Whether the worker is alive and accepting messages."""
        return self._accepting and self._worker is not None and not self._worker.done()

    @property
    def queued(self) -> int:
        """Messages waiting (not counting the one being sent)."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def queue_size(self) -> int:
        """The queue's capacity."""
        return self._queue_size

    def has_channel(self, channel: str) -> bool:
        """Whether ``channel`` has a webhook configured."""
        return channel in self._webhooks

    def _count(self, channel: str, status: DeliveryStatus) -> None:
        self._counter.labels(channel, status).inc()

    def _finish(self, item: Outgoing, result: DeliveryResult) -> None:
        self._count(item.channel, result.status)
        if item.result is not None and not item.result.done():
            item.result.set_result(result)

    def submit(self, channel: str, payload: dict[str, Any]) -> DeliveryResult | None:
        """Queue a message without waiting; returns a ``dropped`` result when it cannot be.

        Messages for channels without a webhook are ignored (``None``) and not counted.
        """
        return self._enqueue(Outgoing(channel, payload))

    async def deliver(
        self, channel: str, payload: dict[str, Any], wait: float
    ) -> DeliveryResult | None:
        """Queue a message and wait up to ``wait`` seconds for its delivery result.

        ``None`` means it is still queued when the wait ends (it stays queued).
        """
        future: asyncio.Future[DeliveryResult] = asyncio.get_running_loop().create_future()
        refused = self._enqueue(Outgoing(channel, payload, future))
        if refused is not None:
            return refused
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            return None

    def _enqueue(self, item: Outgoing) -> DeliveryResult | None:
        if item.channel not in self._webhooks:
            if item.result is not None:
                return DeliveryResult(
                    channel=item.channel, status="failed", detail="no webhook configured"
                )
            return None
        if not self._accepting or self._queue is None:
            result = DeliveryResult(
                channel=item.channel, status="dropped", detail="delivery is stopped"
            )
            self._finish(item, result)
            logger.warning(
                "discord: message for channel %s dropped, delivery is stopped", item.channel
            )
            return result
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            result = DeliveryResult(
                channel=item.channel,
                status="dropped",
                detail=f"queue full ({self._queue_size} messages waiting)",
            )
            self._finish(item, result)
            logger.warning("discord: queue full, message for channel %s dropped", item.channel)
            return result
        return None

    async def start(self) -> None:
        """Create the queue and start the worker (in the running event loop)."""
        self._queue = asyncio.Queue(self._queue_size)
        self._accepting = True
        self._worker = asyncio.get_running_loop().create_task(
            self._run(), name="boss-discord-worker"
        )

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            self._current = item
            try:
                result = await self._sender.send(
                    item.channel, self._webhooks[item.channel], item.payload
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                result = DeliveryResult(
                    channel=item.channel, status="failed", detail=f"unexpected {type(exc).__name__}"
                )
                logger.error(
                    "discord: unexpected %s sending to channel %s: %s",
                    type(exc).__name__,
                    item.channel,
                    scrub(str(exc)),
                )
            self._current = None
            self._finish(item, result)
            if result.status == "failed":
                logger.warning(
                    "discord: message for channel %s not delivered: %s", item.channel, result.detail
                )
            self._queue.task_done()

    async def stop(self) -> int:
        """Stop accepting, drain for up to ``drain_timeout`` s, count and log the rest.

        Returns how many messages were left unsent.
        """
        self._accepting = False
        queue, worker = self._queue, self._worker
        if queue is None or worker is None:
            return 0
        if not worker.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.join(), self._drain_timeout)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        left: list[Outgoing] = []
        if self._current is not None:
            left.append(self._current)
            self._current = None
        while not queue.empty():
            left.append(queue.get_nowait())
        for item in left:
            self._finish(
                item,
                DeliveryResult(
                    channel=item.channel, status="unsent", detail="shutdown before delivery"
                ),
            )
        if left:
            per_channel = Tally(item.channel for item in left)
            logger.warning(
                "discord: %d message(s) not sent at shutdown after %g s of draining (%s)",
                len(left),
                self._drain_timeout,
                ", ".join(f"{name}: {count}" for name, count in sorted(per_channel.items())),
            )
        self._worker = None
        return len(left)
