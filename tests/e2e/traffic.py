"""HTTP traffic against a running boss, recorded by route template so the test can add it up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ("Traffic", "TrafficError")


class TrafficError(AssertionError):
    """A request answered something the traffic step did not expect (names the request)."""


class Traffic:
    """Sends requests and counts them per ``(method, route template)`` and per status.

    Each request goes out on a fresh connection unless ``keep_alive`` is set, so uvicorn's
    workers share the load (the kernel hands new connections to whichever accepts first).
    """

    __slots__ = ("base_url", "headers", "sent", "statuses")

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.sent: Counter[tuple[str, str]] = Counter()
        """Requests sent, by method and route template."""
        self.statuses: Counter[tuple[str, str, int]] = Counter()
        """Requests answered, by method, route template and status code."""

    def request(
        self,
        method: str,
        template: str,
        path: str | None = None,
        *,
        expect: int | tuple[int, ...] = (200, 201, 204),
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float = 15.0,
    ) -> httpx.Response:
        """Send one request to ``path`` (default ``template``) and check its status is expected."""
        url = self.base_url + (path or template)
        merged = {**self.headers, **(headers or {}), "Connection": "close"}
        self.sent[(method, template)] += 1
        try:
            response = httpx.request(
                method, url, headers=merged, json=json, params=params, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise TrafficError(f"{method} {path or template}: {type(exc).__name__}: {exc}") from exc
        self.statuses[(method, template, response.status_code)] += 1
        allowed = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in allowed:
            raise TrafficError(
                f"{method} {path or template} answered {response.status_code}, expected"
                f" {' or '.join(map(str, allowed))}: {response.text[:500]}"
            )
        return response

    def count(self, template: str, method: str | None = None) -> int:
        """Requests sent to ``template`` (by ``method`` when given)."""
        return sum(n for (m, t), n in self.sent.items() if t == template and method in (None, m))

    def count_status(self, status: int) -> int:
        """Requests that were answered with ``status``."""
        return sum(n for (_, _, s), n in self.statuses.items() if s == status)
