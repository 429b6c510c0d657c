"""Send one message to a Discord webhook, honouring Discord's rate limits and retrying failures.

Discord answers 429 with ``retry_after`` (seconds) in the body and ``Retry-After`` /
``X-RateLimit-Reset-After`` headers; ``global: true`` (or ``X-RateLimit-Global``) means every
webhook of this application must wait. A 2xx with ``X-RateLimit-Remaining: 0`` announces the
limit before it is hit, so the next message to that webhook waits instead of bouncing. 5xx and
network errors are retried with exponential backoff; 404 means the webhook was deleted and
other 4xx mean Discord rejected the message, both final. Nothing here logs or returns a URL.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
import httpx
import msgspec

__all__ = ("DeliveryResult", "DeliveryStatus", "WebhookSender")

DeliveryStatus = Literal["sent", "coalesced", "failed", "dropped", "unsent"]
"""``sent``: Discord accepted it (as its own embed); ``coalesced``: delivered inside a digest
of a burst; ``failed``: gave up (rejected, deleted webhook or retries exhausted);
``dropped``: the queue was full or the outbox age limit passed; ``unsent``: still queued in
memory when shutdown ended."""


class DeliveryResult(msgspec.Struct, frozen=True, kw_only=True):
    """What happened to one message (safe to show: no URL, no token)."""

    channel: str
    status: DeliveryStatus
    attempts: int = 0
    detail: str = ""
    retryable: bool = False
    """The failure is temporary (rate limit, 5xx, timeout): trying later may succeed."""


class _RateLimitBody(msgspec.Struct):
    retry_after: float | None = None
    global_: bool = msgspec.field(default=False, name="global")
    message: str = ""
    code: int = 0


class _ErrorBody(msgspec.Struct):
    message: str = ""
    code: int = 0


def _float_header(headers: httpx.Headers, name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _error_text(response: httpx.Response) -> str:
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return f"HTTP {response.status_code}"
    if body.message:
        return f"HTTP {response.status_code} {body.message} (code {body.code})"
    return f"HTTP {response.status_code}"


class WebhookSender:
    """Delivers messages one at a time; keeps the rate-limit state across messages."""

    __slots__ = (
        "_backoff_base",
        "_buckets",
        "_client",
        "_clock",
        "_global_until",
        "_max_wait",
        "_retries",
        "_sleep",
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        retries: int = 4,
        backoff_base: float = 1.0,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._retries = retries
        self._backoff_base = backoff_base
        self._max_wait = max_retry_wait
        self._sleep = sleep
        self._clock = clock
        self._global_until = 0.0
        self._buckets: dict[str, float] = {}

    def _blocked_for(self, url: str) -> float:
        now = self._clock()
        return max(self._global_until - now, self._buckets.get(url, 0.0) - now, 0.0)

    def _note_headers(self, url: str, response: httpx.Response) -> None:
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset_after = _float_header(response.headers, "x-ratelimit-reset-after")
            if reset_after:
                self._buckets[url] = self._clock() + reset_after

    def _rate_limited(self, url: str, response: httpx.Response) -> float:
        """Record a 429 and return how long Discord asks us to wait."""
        try:
            body = msgspec.json.decode(response.content, type=_RateLimitBody)
        except (msgspec.DecodeError, msgspec.ValidationError):
            body = _RateLimitBody()
        wait = body.retry_after
        if wait is None:
            wait = _float_header(response.headers, "x-ratelimit-reset-after")
        if wait is None:
            wait = _float_header(response.headers, "retry-after")
        if wait is None:
            wait = self._backoff_base
        is_global = body.global_ or response.headers.get("x-ratelimit-global", "").lower() == "true"
        until = self._clock() + wait
        if is_global:
            self._global_until = max(self._global_until, until)
        else:
            self._buckets[url] = max(self._buckets.get(url, 0.0), until)
        return wait

    async def send(self, channel: str, url: str, payload: dict[str, Any]) -> DeliveryResult:
        """Post ``payload`` to ``url``; returns ``sent`` or ``failed`` with the reason."""
        attempts = 0
        detail = ""
        while attempts <= self._retries:
            blocked = self._blocked_for(url)
            if blocked > self._max_wait:
                return DeliveryResult(
                    channel=channel,
                    status="failed",
                    attempts=attempts,
                    detail=f"rate limited for {blocked:.1f} s, longer than the {self._max_wait:g} s cap",
                    retryable=True,
                )
            if blocked > 0:
                await self._sleep(blocked)
            attempts += 1
            try:
                response = await self._client.post(url, json=payload)
            except httpx.TimeoutException:
                detail = "Discord did not answer in time"
            except httpx.TransportError as exc:
                detail = f"network error ({type(exc).__name__})"
            else:
                if response.is_success:
                    self._note_headers(url, response)
                    return DeliveryResult(channel=channel, status="sent", attempts=attempts)
                if response.status_code == 429:
                    wait = self._rate_limited(url, response)
                    detail = f"rate limited (retry after {wait:g} s)"
                    continue
                detail = _error_text(response)
                if response.status_code == 404:
                    return DeliveryResult(
                        channel=channel,
                        status="failed",
                        attempts=attempts,
                        detail=f"webhook not found, it was probably deleted ({detail})",
                    )
                if response.status_code < 500:
                    return DeliveryResult(
                        channel=channel,
                        status="failed",
                        attempts=attempts,
                        detail=f"Discord rejected the message ({detail})",
                    )
            if attempts <= self._retries:
                await self._sleep(min(self._backoff_base * 2 ** (attempts - 1), self._max_wait))
        return DeliveryResult(
            channel=channel,
            status="failed",
            attempts=attempts,
            detail=f"gave up after {attempts} attempts: {detail}",
            retryable=True,
        )
