"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, for tests.

``POST /v1/chat/completions`` answers with a chat completion whose message content the test
chooses, or with what the test scripts: an error status with OpenAI's error body and headers
(429 with ``Retry-After``, 500, 401), a raw body, or a delay longer than the client's timeout.
It checks the bearer key when one is set and rejects requests without ``model`` or
``messages`` (400), as the real API does. It runs in a background thread::

    with OpenAIServer(api_key="sk-test") as llm:
        llm.script(Reply.error(429, headers={"Retry-After": "1"}), Reply.content({"title": "x"}))
        ... call llm.base_url ...
        assert llm.requests[0].body["response_format"] == {"type": "json_object"}
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._threaded import OwnedServer, ThreadedFake

__all__ = ("OpenAIServer", "Received", "Reply")


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    content: str | None = None
    """The assistant message content of a 200 completion."""
    raw: bytes | None = None
    """Send these bytes as the body instead of a completion."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (the wait ends early when the server stops)."""

    @classmethod
    def content_of(cls, value: Any) -> Reply:
        """A 200 completion whose content is ``value`` (JSON-encoded unless it is a string)."""
        return cls(content=value if isinstance(value, str) else json.dumps(value))

    @classmethod
    def error(
        cls, status: int, message: str = "", *, headers: dict[str, str] | None = None
    ) -> Reply:
        """An error answer with OpenAI's ``{"error": {...}}`` body."""
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        body = {"error": {"message": message or f"fake error {status}", "type": kind, "code": kind}}
        return cls(status=status, raw=json.dumps(body).encode(), headers=headers or {})

    @classmethod
    def slow(cls, delay: float, value: Any = None) -> Reply:
        """Answer ``value`` (a completion) only after ``delay`` seconds."""
        content = (
            None if value is None else (value if isinstance(value, str) else json.dumps(value))
        )
        return cls(content=content or "{}", delay=delay)


@dataclass(frozen=True)
class Received:
    """A request the server got: path, JSON body and headers."""

    path: str
    body: Any
    headers: dict[str, str]


def completion(content: str | None, model: str) -> dict[str, Any]:
    """The chat-completion object the API returns for one assistant message."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class _Handler(BaseHTTPRequestHandler):
    server: OwnedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout tests)

    def _error(self, status: int, message: str, code: str) -> None:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        self._send(status, json.dumps(body).encode())

    def do_POST(self) -> None:
        """Answer a chat-completions request."""
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        owner.record(Received(self.path, body, dict(self.headers)))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"Unknown request URL: POST {self.path}", "unknown_url")
            return
        if owner.api_key and self.headers.get("Authorization") != f"Bearer {owner.api_key}":
            self._error(401, "Incorrect API key provided", "invalid_api_key")
            return
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            self._error(400, "'model' and 'messages' are required", "invalid_request")
            return
        reply = owner.next_reply()
        if reply.delay and owner.stopping.wait(reply.delay):
            return
        if reply.raw is not None:
            self._send(reply.status, reply.raw, reply.headers)
            return
        content = reply.content if reply.content is not None else owner.default_content
        payload = json.dumps(completion(content, str(body["model"]))).encode()
        self._send(reply.status, payload, reply.headers)


class OpenAIServer(ThreadedFake):
    """The fake LLM API: ``base_url`` ends in ``/v1``, like OpenAI's own."""

    handler = _Handler
    thread_name = "fake-openai"

    def __init__(self, *, api_key: str = "", host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        super().__init__(host, port)
        self._lock = threading.Condition()
        self._script: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.default_content: str = json.dumps(
            {"title": "Untitled", "priority": "medium", "confidence": 0.5}
        )
        """The content answered when nothing is scripted."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: what ``BOSS_AI__BASE_URL`` takes."""
        return self.origin + "/v1"

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next requests; afterwards ``default_content`` is answered."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        """The next scripted answer, or a plain completion."""
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    def record(self, received: Received) -> None:
        """Store a request."""
        with self._lock:
            self.requests.append(received)
            self._lock.notify_all()
