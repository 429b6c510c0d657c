"""HEAD and OPTIONS for every route, outside Litestar's router.

Litestar answers HEAD on a GET route with 405, and the ``Allow`` header of its automatic
OPTIONS answer names only the methods of the first handler registered on a path (a
second decorated function on the same path is merged into the route later). This ASGI
wrapper serves HEAD as a GET without body (same status and headers) and rewrites ``Allow``
from the app's routes, adding HEAD wherever GET exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import Message, Receive, Scope, Send

__all__ = ("HttpSemanticsApp", "allowed_methods")


def allowed_methods(app: Litestar) -> dict[str, str]:
    """``Allow`` header value per route template (``/api/db/tasks/{task_id}``)."""
    allowed: dict[str, set[str]] = {}
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if not methods or route.path_format is None:
            continue
        allowed.setdefault(route.path_format, set()).update(methods)
    for methods in allowed.values():
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
    return {path: ", ".join(sorted(methods)) for path, methods in allowed.items()}


class HttpSemanticsApp:
    """Wrap a Litestar ``app``: HEAD as body-less GET, complete ``Allow`` headers."""

    __slots__ = ("_allow", "_app")

    def __init__(self, app: Litestar) -> None:
        self._app = app
        self._allow: dict[str, str] | None = None

    def __getattr__(self, name: str) -> Any:
        # Callers reach the Litestar app's attributes (``app.state``, ``app.plugins``).
        return getattr(self._app, name)

    @property
    def app(self) -> Litestar:
        """The wrapped application."""
        return self._app

    def _allow_for(self, scope: Scope) -> str | None:
        if self._allow is None:
            self._allow = allowed_methods(self._app)
        template = scope.get("path_template")
        return self._allow.get(template) if isinstance(template, str) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        head = scope.get("method") == "HEAD"
        inner: Any = {**scope, "method": "GET"} if head else scope

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                if head and "path_template" in inner:  # for the metrics wrapper outside
                    scope["path_template"] = inner["path_template"]
                headers = list(message.get("headers", ()))
                if any(name.lower() == b"allow" for name, _ in headers):
                    allow = self._allow_for(inner)
                    if allow is not None:
                        headers = [(n, v) for n, v in headers if n.lower() != b"allow"]
                        headers.append((b"allow", allow.encode()))
                        message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self._app(inner, receive, send_wrapper)
