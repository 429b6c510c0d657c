"""A tiny plugin with routes in two groups under /api/ and one public route."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.config.app import AppConfig
from litestar.params import FromPath

from boss import BossPlugin

__all__ = ("ProbePlugin",)


class ProbePlugin(BossPlugin):
    """``/api/things``, ``/api/things/{thing_id}``, ``/api/other`` and ``/public/ping``."""

    name = "probe"

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the routes."""

        @get("/api/things", sync_to_thread=False)
        def things() -> list[int]:
            return [1, 2]

        @get("/api/things/{thing_id:int}", sync_to_thread=False)
        def thing(thing_id: FromPath[int]) -> dict[str, Any]:
            return {"id": thing_id}

        @get("/api/other", sync_to_thread=False)
        def other() -> dict[str, str]:
            return {"other": "yes"}

        @get("/public/ping", sync_to_thread=False)
        def ping() -> str:
            return "pong"

        app_config.route_handlers.extend([things, thing, other, ping])
        return app_config
