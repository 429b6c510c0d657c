"""The rate-limit ASGI middleware: runs after authentication, before the route handler.

It is listed after the API-key middleware in ``create_app``, so ``scope["user"]`` already
holds the caller's ``ApiKey`` under ``/api/``. Over the limit it raises a 429 that the
core's problem handlers turn into problem JSON with ``Retry-After``; every other answer
gains the ``RateLimit-*`` headers on its way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException

from boss.auth import ApiKey
from boss.http_metrics import UNMATCHED
from boss.ratelimit.limiter import RateLimiter

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("RateLimitMiddleware", "identity_of")


def identity_of(scope: Mapping[str, Any], limiter: RateLimiter) -> str:
    """Who is limited: the API key's name when authenticated, else the client address."""
    user = scope.get("user")
    if isinstance(user, ApiKey):
        return "key:" + user.name
    return "addr:" + limiter.client_address(scope)


class RateLimitMiddleware:
    """Refuse requests over the caller's limit; add ``RateLimit-*`` headers to the rest."""

    __slots__ = ("_app", "_limiter")

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self._limiter
        if scope["type"] != ScopeType.HTTP or limiter.is_exempt(scope["path"]):
            await self._app(scope, receive, send)
            return
        # Always set once Litestar has routed; a fixed label otherwise keeps series bounded.
        template = scope.get("path_template") or UNMATCHED
        decision = await limiter.check(identity_of(scope, limiter), template)
        if decision is None:  # Redis failed: fail open, already counted
            await self._app(scope, receive, send)
            return
        if not decision.allowed:
            headers = decision.headers()
            headers["Retry-After"] = str(decision.reset_seconds)
            raise TooManyRequestsException(
                detail=(
                    f"Rate limit of {decision.limit} requests per {limiter.window:g} s exceeded;"
                    f" retry in {decision.reset_seconds} s"
                ),
                headers=headers,
                extra={"limit": decision.limit, "window": int(limiter.window)},
            )
        raw = decision.raw_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *raw]
            await send(message)

        await self._app(scope, receive, send_with_headers)
