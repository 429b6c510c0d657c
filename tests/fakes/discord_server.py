"""A real HTTP server on 127.0.0.1 that speaks Discord's webhook API, for tests.

It answers ``POST /api/webhooks/{id}/{token}`` the way Discord documents it: 204 (or 200 with
a message object when ``?wait=true``) for a valid message, 400 for an empty or oversized one,
and whatever a test scripts: 429 with ``retry_after`` (per-route or global, with the
rate-limit headers), 5xx, 404 "Unknown Webhook", or a request that hangs until the server
stops. It runs in a background thread, so it serves tests in-process (fixture or context
manager) as well as other processes (Alertmanager) while a test waits on ``wait_for``::

    with DiscordServer() as discord:
        url = discord.webhook_url("alerts")
        discord.script(Reply.rate_limited(0.05), Reply.ok(), webhook="alerts")
        ...
        discord.wait_for(1)
        assert discord.messages[0].body["embeds"][0]["title"] == "..."

Run it standalone with ``python tests/fakes/discord_server.py [--port N]``: it prints one
``<channel> <webhook URL>`` line for the channels ``alerts`` and ``tasks`` and serves until
interrupted; ``GET /_fake/messages`` lists what was delivered (``[{"channel", "body"}]``).
"""

from __future__ import annotations

import argparse
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._threaded import OwnedServer, ThreadedFake

__all__ = ("DiscordServer", "Received", "Reply")

_MESSAGE_ID = 1_180_000_000_000_000_000


@dataclass(frozen=True)
class Reply:
    """One scripted answer; the helpers build the shapes Discord really sends."""

    status: int = 204
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Hold the request open until the server stops (for timeouts and shutdown tests)."""
    accept: bool = True
    """Whether the message counts as delivered (only for 2xx answers)."""

    @classmethod
    def ok(cls) -> Reply:
        """Deliver the message normally (the default when nothing is scripted)."""
        return cls()

    @classmethod
    def rate_limited(cls, retry_after: float = 0.05, *, global_: bool = False) -> Reply:
        """A 429 as Discord sends it: ``retry_after`` in the body and in the headers."""
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-webhook-bucket",
            "X-RateLimit-Scope": "global" if global_ else "user",
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global_,
        }
        if global_:
            body["code"] = 0
        return cls(status=429, body=body, headers=headers, accept=False)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        """A 5xx answer (500 Internal Server Error, 502, 503 …)."""
        return cls(
            status=status, body={"message": "Internal Server Error", "code": 0}, accept=False
        )

    @classmethod
    def not_found(cls) -> Reply:
        """The webhook was deleted: 404 with Discord's error code 10015."""
        return cls(status=404, body={"message": "Unknown Webhook", "code": 10015}, accept=False)

    @classmethod
    def hanging(cls) -> Reply:
        """Never answer until the server stops."""
        return cls(hang=True, accept=False)


@dataclass(frozen=True)
class Received:
    """A request the server got: which webhook, the JSON body, headers, and its answer."""

    webhook_id: str
    token: str
    channel: str | None
    body: Any
    headers: dict[str, str]
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: OwnedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """``GET /_fake/messages``: what was delivered, for a test in another process."""
        if urlsplit(self.path).path != "/_fake/messages":
            self._send(404, {"message": "404: Not Found", "code": 0})
            return
        owner = self.server.owner
        with owner._lock:
            delivered = [{"channel": m.channel, "body": m.body} for m in owner.messages]
        self._send(200, delivered)

    def do_POST(self) -> None:
        """Execute a webhook, or answer what the test scripted for it."""
        owner = self.server.owner
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(segments) != 4 or segments[:2] != ["api", "webhooks"]:
            self._send(404, {"message": "404: Not Found", "code": 0})
            return
        webhook_id, token = segments[2], segments[3]
        channel = owner.channel_of(webhook_id, token)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        reply = owner.next_reply(channel, webhook_id, token)
        status = reply.status
        answer: Any = reply.body
        if channel is None and not reply.hang:
            status, answer = 404, {"message": "Unknown Webhook", "code": 10015}
        elif reply.hang:
            owner.record(Received(webhook_id, token, channel, body, dict(self.headers), 0))
            owner.stopping.wait()
            return
        elif 200 <= status < 300:
            problem = _invalid(body)
            if problem is not None:
                status, answer = 400, problem
            elif parse_qs(parts.query).get("wait", ["false"])[0].lower() == "true":
                status, answer = (
                    200,
                    {"id": str(_MESSAGE_ID + owner.count()), "webhook_id": webhook_id, **body},
                )
        accepted = 200 <= status < 300 and reply.accept
        owner.record(
            Received(webhook_id, token, channel, body, dict(self.headers), status), accepted
        )
        self._send(status, answer, reply.headers)


def _invalid(body: Any) -> dict[str, Any] | None:
    """Discord's 400 answers for the limits a webhook message must respect."""
    if not isinstance(body, dict):
        return {"message": "Cannot send an empty message", "code": 50006}
    embeds = body.get("embeds") or []
    if not body.get("content") and not embeds:
        return {"message": "Cannot send an empty message", "code": 50006}
    errors: dict[str, Any] = {}
    if len(str(body.get("content") or "")) > 2000:
        errors["content"] = "Must be 2000 or fewer in length."
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            text = str(embed.get(key) or "")
            total += len(text)
            if len(text) > limit:
                errors[f"embeds.{index}.{key}"] = f"Must be {limit} or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors[f"embeds.{index}.fields"] = "Must be 25 or fewer in length."
        for number, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                text = str(item.get(key) or "")
                total += len(text)
                if not text or len(text) > limit:
                    errors[f"embeds.{index}.fields.{number}.{key}"] = (
                        f"Must be between 1 and {limit} in length."
                    )
    if total > 6000:
        errors["embeds"] = "Embed size exceeds maximum size of 6000"
    if errors:
        return {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    return None


class DiscordServer(ThreadedFake):
    """The fake Discord: start it, hand out ``webhook_url(channel)``, read ``messages``."""

    handler = _Handler
    thread_name = "fake-discord"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._lock = threading.Condition()
        self._channels: dict[tuple[str, str], str] = {}
        self._scripts: dict[str | None, deque[Reply]] = {}
        self._policy: Callable[[int], Reply] | None = None
        self._served = 0
        self.requests: list[Received] = []
        """Every webhook request, in arrival order, whatever the answer."""
        self.messages: list[Received] = []
        """The messages Discord would have shown (2xx answers only)."""

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self.origin

    def webhook_url(self, channel: str = "alerts") -> str:
        """The webhook URL of ``channel`` (created on first use; same URL on every call)."""
        with self._lock:
            for (webhook_id, token), name in self._channels.items():
                if name == channel:
                    return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"
            webhook_id = str(1_100_000_000_000_000_000 + len(self._channels))
            token = f"secret-{channel}-token-{len(self._channels)}"
            self._channels[(webhook_id, token)] = channel
        return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"

    def delete_webhook(self, channel: str) -> None:
        """Forget ``channel``'s webhook: later requests get 404 Unknown Webhook."""
        with self._lock:
            self._channels = {k: v for k, v in self._channels.items() if v != channel}

    def channel_of(self, webhook_id: str, token: str) -> str | None:
        """The channel a webhook id/token pair belongs to, or ``None`` (unknown webhook)."""
        with self._lock:
            return self._channels.get((webhook_id, token))

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *replies: Reply, webhook: str | None = None) -> None:
        """Queue answers for the next requests to ``webhook`` (a channel) or to any webhook.

        Per-channel scripts win over the shared one; once a script is used up the server
        delivers normally.
        """
        with self._lock:
            self._scripts.setdefault(webhook, deque()).extend(replies)

    def set_policy(self, policy: Callable[[int], Reply] | None) -> None:
        """Answer every request without a script by ``policy(n)`` (n counts from 1).

        For long runs: ``lambda n: Reply.rate_limited(0.2) if n % 3 == 0 else Reply.ok()``
        rate-limits a third of the calls for as long as the policy stays.
        """
        with self._lock:
            self._policy = policy

    def next_reply(self, channel: str | None, webhook_id: str, token: str) -> Reply:
        """The scripted answer for this request (the policy's, or ``Reply.ok()``, when none)."""
        with self._lock:
            self._served += 1
            for key in (channel, None):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
            policy, served = self._policy, self._served
        return policy(served) if policy is not None else Reply.ok()

    # -- observations ------------------------------------------------------------------------

    def record(self, received: Received, accepted: bool = False) -> None:
        """Store a request (and the message, when delivered) and wake ``wait_for`` callers."""
        with self._lock:
            self.requests.append(received)
            if accepted:
                self.messages.append(received)
            self._lock.notify_all()

    def count(self) -> int:
        """How many messages were delivered so far."""
        with self._lock:
            return len(self.messages)

    def messages_for(self, channel: str) -> list[Any]:
        """The JSON bodies delivered to ``channel``, in order."""
        with self._lock:
            return [m.body for m in self.messages if m.channel == channel]

    def wait_for(self, messages: int = 1, *, requests: int = 0, timeout: float = 10.0) -> bool:
        """Block until at least ``messages`` were delivered and ``requests`` received."""
        with self._lock:
            return self._lock.wait_for(
                lambda: len(self.messages) >= messages and len(self.requests) >= requests,
                timeout=timeout,
            )


def _main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(list(argv) if argv is not None else None)
    server = DiscordServer(port=args.port).start()
    for channel in ("alerts", "tasks"):
        print(f"{channel} {server.webhook_url(channel)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    _main()
