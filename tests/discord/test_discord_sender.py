"""WebhookSender against a fake Discord on 127.0.0.1: success, rate limits, 5xx, 404, rejects."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from boss_discord.sender import WebhookSender

from tests.fakes.discord_server import DiscordServer, Reply

pytestmark = pytest.mark.anyio

MESSAGE = {"content": "hello"}


@pytest.fixture
def discord() -> Iterator[DiscordServer]:
    with DiscordServer() as server:
        yield server


class RecordingSleep:
    """Records requested waits and really waits (briefly), so the order of events is real."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        import anyio

        self.waits.append(seconds)
        await anyio.sleep(min(seconds, 0.01))


def sender(
    client: httpx.AsyncClient, sleep: RecordingSleep | None = None, **kwargs
) -> WebhookSender:
    options = {"retries": 3, "backoff_base": 0.01, "max_retry_wait": 5.0, **kwargs}
    if sleep is not None:
        options["sleep"] = sleep
    return WebhookSender(client, **options)


async def test_success_on_first_try(discord):
    async with httpx.AsyncClient() as client:
        result = await sender(client).send("tasks", discord.webhook_url("tasks"), MESSAGE)
    assert (result.status, result.attempts, result.channel) == ("sent", 1, "tasks")
    assert discord.messages_for("tasks") == [MESSAGE]


async def test_rate_limit_waits_retry_after_then_sends(discord):
    discord.script(Reply.rate_limited(0.75), webhook="tasks")
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        result = await sender(client, sleep).send("tasks", discord.webhook_url("tasks"), MESSAGE)
    assert (result.status, result.attempts) == ("sent", 2)
    assert len(sleep.waits) == 1
    assert 0.6 < sleep.waits[0] <= 0.75  # the body's retry_after, not the rounded-up header
    assert [r.status for r in discord.requests] == [429, 204]


async def test_global_rate_limit_holds_back_every_webhook(discord):
    discord.script(Reply.rate_limited(0.5, global_=True), webhook="tasks")
    sleep = RecordingSleep()
    clock = [1000.0]
    async with httpx.AsyncClient() as client:
        s = sender(client, sleep, clock=lambda: clock[0])
        first = await s.send("tasks", discord.webhook_url("tasks"), MESSAGE)
        other = await s.send("alerts", discord.webhook_url("alerts"), MESSAGE)
    assert first.status == "sent"
    assert other.status == "sent"
    # the clock stood still: the global limit made the *other* webhook wait as well
    assert sleep.waits == [0.5, 0.5]


async def test_route_rate_limit_does_not_hold_back_other_webhooks(discord):
    discord.script(Reply.rate_limited(0.5), webhook="tasks")
    sleep = RecordingSleep()
    clock = [1000.0]
    async with httpx.AsyncClient() as client:
        s = sender(client, sleep, clock=lambda: clock[0])
        await s.send("tasks", discord.webhook_url("tasks"), MESSAGE)
        other = await s.send("alerts", discord.webhook_url("alerts"), MESSAGE)
    assert other.status == "sent"
    assert sleep.waits == [0.5]


async def test_server_error_is_retried_with_backoff(discord):
    discord.script(Reply.server_error(500), Reply.server_error(502), webhook="tasks")
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        result = await sender(client, sleep, backoff_base=0.1).send(
            "tasks", discord.webhook_url("tasks"), MESSAGE
        )
    assert (result.status, result.attempts) == ("sent", 3)
    assert sleep.waits == [0.1, 0.2]
    assert discord.messages_for("tasks") == [MESSAGE]


async def test_gives_up_after_bounded_tries(discord):
    discord.script(*[Reply.server_error(503)] * 10, webhook="tasks")
    async with httpx.AsyncClient() as client:
        result = await sender(client, RecordingSleep(), retries=2).send(
            "tasks", discord.webhook_url("tasks"), MESSAGE
        )
    assert (result.status, result.attempts) == ("failed", 3)
    assert "gave up after 3 attempts" in result.detail
    assert len(discord.requests) == 3


async def test_deleted_webhook_is_final(discord):
    url = discord.webhook_url("tasks")
    discord.delete_webhook("tasks")
    async with httpx.AsyncClient() as client:
        result = await sender(client, RecordingSleep()).send("tasks", url, MESSAGE)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "Unknown Webhook" in result.detail
    assert "secret" not in result.detail
    assert "/webhooks/" not in result.detail


async def test_rejected_message_is_not_retried(discord):
    async with httpx.AsyncClient() as client:
        result = await sender(client, RecordingSleep()).send(
            "tasks", discord.webhook_url("tasks"), {"content": ""}
        )
    assert (result.status, result.attempts) == ("failed", 1)
    assert "Cannot send an empty message" in result.detail


async def test_rate_limit_longer_than_cap_gives_up(discord):
    discord.script(Reply.rate_limited(30.0), webhook="tasks")
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        result = await sender(client, sleep, max_retry_wait=1.0).send(
            "tasks", discord.webhook_url("tasks"), MESSAGE
        )
    assert result.status == "failed"
    assert "cap" in result.detail
    assert sleep.waits == []


async def test_unreachable_discord_counts_as_network_error():
    with DiscordServer() as server:
        url = server.webhook_url("tasks")
    async with httpx.AsyncClient() as client:
        result = await sender(client, RecordingSleep(), retries=1).send("tasks", url, MESSAGE)
    assert (result.status, result.attempts) == ("failed", 2)
    assert "network error" in result.detail


async def test_exhausted_bucket_on_success_delays_the_next_message(discord):
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.4"}
    discord.script(Reply(headers=headers), webhook="tasks")
    sleep = RecordingSleep()
    clock = [1000.0]
    async with httpx.AsyncClient() as client:
        s = sender(client, sleep, clock=lambda: clock[0])
        first = await s.send("tasks", discord.webhook_url("tasks"), MESSAGE)
        second = await s.send("tasks", discord.webhook_url("tasks"), MESSAGE)
        other = await s.send("alerts", discord.webhook_url("alerts"), MESSAGE)
    assert (first.status, second.status, other.status) == ("sent", "sent", "sent")
    # only the second message to the exhausted webhook waited
    assert sleep.waits == [pytest.approx(0.4)]
    assert [r.status for r in discord.requests] == [204, 204, 204]
