"""Every worker drains the outbox: claim a pass of task events, coalesce, send, count once.

One pass every ``outbox_interval`` seconds: events past the age limit are dropped
(``dropped``, logged, ``DiscordSendFailures`` fires), then up to ``outbox_batch`` events
are claimed (other workers skip them), planned into messages (``boss_discord.coalesce``)
and sent through the shared ``WebhookSender`` (which honours 429 per route and global,
``Retry-After`` and 5xx backoff). A delivered message ends its events as ``sent`` or
``coalesced``; a rejected one (400, deleted webhook) as ``failed``; a temporary failure
(rate limit beyond the cap, 5xx or timeouts after the retries) releases them for a later
pass. An event is counted only by the worker whose ``finish`` deleted it, inside the
deleting transaction just before COMMIT (``boss.outbox``), so it is counted exactly once,
also when the worker is SIGKILLed right after the COMMIT. Shutdown stops claiming, finishes the pass in progress within
``drain_timeout`` and leaves everything else in the database for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter as Tally
from typing import TYPE_CHECKING

from boss.outbox import Outbox, OutboxEvent, worker_identity
from boss_discord.coalesce import Notification, notification_for, plan
from boss_discord.redaction import scrub

if TYPE_CHECKING:
    from prometheus_client import Counter

    from boss_discord.sender import WebhookSender
    from boss_discord.settings import DiscordSettings

__all__ = ("TOPICS", "OutboxDrainer")

TOPICS = ("task.created", "task.status_changed")
"""Outbox topics the Discord plugin consumes."""
logger = logging.getLogger("boss.discord")


class OutboxDrainer:
    """The per-worker outbox loop for the task channel."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        sender: WebhookSender,
        url: str,
        channel: str,
        counter: Counter,
        settings: DiscordSettings,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._url = url
        self._channel = channel
        self._counter = counter
        self._settings = settings
        self._worker = worker_identity()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._held: list[int] = []

    @property
    def running(self) -> bool:
        """Whether the loop is alive."""
        return self._task is not None and not self._task.done()

    def _count(self, status: str, amount: int) -> None:
        if amount:
            self._counter.labels(self._channel, status).inc(amount)

    def _count_ended(self, status: str, ids: set[int]) -> None:
        self._count(status, len(ids))

    async def start(self) -> None:
        """Start the loop in the running event loop."""
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="boss-discord-outbox")

    async def _run(self) -> None:
        failures = 0
        while True:
            final = self._stop.is_set()  # shutting down: one last pass, then stop
            try:
                await self.drain_once()
                failures = 0
            except Exception as exc:  # the database or a bug: log, back off, keep going
                failures += 1
                logger.warning(
                    "discord outbox pass failed (%s: %s)", type(exc).__name__, scrub(str(exc))
                )
            if final:
                return
            wait = self._settings.outbox_interval * min(2**failures, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    async def drain_once(self) -> int:
        """One pass: expire, claim, plan, send, finish or release; returns events ended."""
        settings = self._settings
        notified: list[OutboxEvent] = []

        def count_dropped(expired: list[OutboxEvent]) -> None:
            notified.extend(e for e in expired if self._notification(e) is not None)
            self._count("dropped", len(notified))

        await self._outbox.expire(TOPICS, older_than=settings.outbox_max_age, counted=count_dropped)
        if notified:
            logger.warning(
                "discord: %d task notification(s) dropped: older than %g s (outbox age limit)",
                len(notified),
                settings.outbox_max_age,
            )
        events = await self._outbox.claim(
            TOPICS, worker=self._worker, lease=settings.outbox_lease, limit=settings.outbox_batch
        )
        if not events:
            return len(notified)
        self._held = [e.id for e in events]
        keeper = asyncio.get_running_loop().create_task(self._keep_lease())
        try:
            return len(notified) + await self._deliver(events)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if self._held:  # a cancelled pass: give back what was not ended
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._outbox.release(self._held, worker=self._worker))
            self._held = []

    async def _keep_lease(self) -> None:
        """Renew the lease of the held events every third of it while the pass runs.

        A short lease returns a dead worker's events quickly; renewing it keeps a slow
        pass (Discord rate-limiting us) from having its events taken over.
        """
        lease = self._settings.outbox_lease
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self._outbox.extend(self._held, worker=self._worker, lease=lease)
            except Exception as exc:
                logger.warning("discord: could not renew the outbox lease (%s)", type(exc).__name__)

    def _notification(self, event: OutboxEvent) -> Notification | None:
        return notification_for(
            event.id,
            event.topic,
            event.payload,
            event.created_at,
            username=self._settings.username,
        )

    async def _deliver(self, events: list[OutboxEvent]) -> int:
        notes: list[Notification] = []
        silent: list[int] = []
        for event in events:
            note = self._notification(event)
            if note is None:
                silent.append(event.id)
            else:
                notes.append(note)
        ended = 0
        if silent:  # e.g. a status change to in_progress: nothing to say, nothing to count
            await self._outbox.finish(silent, worker=self._worker)
            self._forget(silent)
        settings = self._settings
        outcomes: Tally[str] = Tally()
        for message in plan(
            notes,
            username=settings.username,
            digest_after=settings.digest_after,
            listed=settings.digest_list,
        ):
            ids = list(message.event_ids)
            result = await self._sender.send(self._channel, self._url, message.payload)
            status: str
            if result.status == "sent":
                status = message.status
            elif result.retryable:
                logger.warning(
                    "discord: %d task notification(s) postponed: %s", len(ids), result.detail
                )
                await self._outbox.release(ids, worker=self._worker)
                self._forget(ids)
                continue
            else:
                status = "failed"
                logger.warning(
                    "discord: %d task notification(s) not delivered: %s", len(ids), result.detail
                )
            finished = await self._outbox.finish(
                ids,
                worker=self._worker,
                counted=functools.partial(self._count_ended, status),
                lease=settings.outbox_lease,
            )
            self._forget(ids)
            outcomes[status] += len(finished)
            ended += len(finished)
        if outcomes:
            logger.debug("discord outbox pass: %s", dict(outcomes))
        return ended

    def _forget(self, ids: list[int]) -> None:
        done = set(ids)
        self._held = [i for i in self._held if i not in done]

    async def stop(self, bound: float) -> None:
        """Stop claiming; let the pass in progress finish for up to ``bound`` seconds."""
        self._stop.set()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), bound)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            logger.warning(
                "discord: outbox pass still running after %g s at shutdown; its events stay "
                "in the outbox for the next start",
                bound,
            )
        self._task = None
