"""Liveness and readiness: ``/health`` answers while the process serves; ``/health/ready``
aggregates every plugin's ``ping`` into ``{"ok": [...], "failing": {...}}``.

Readiness is unauthenticated (load balancers and probes call it), so by default it names
only which checks pass and which fail; the reasons and details (database location, Redis
host, queue figures) go only to callers that present an admin key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler

from boss.auth import KeyRing
from boss.plugin import BossPlugin

__all__ = (
    "PING_TIMEOUT",
    "REDACTED",
    "Readiness",
    "check_readiness",
    "health_handlers",
    "is_admin",
)

PING_TIMEOUT = 3.0
"""Seconds a plugin's ping may take before it counts as failing."""
REDACTED = "failing"
"""What an unauthenticated caller reads for a failing check instead of its reason."""


class Readiness(msgspec.Struct):
    """Aggregated readiness: plugins that answered, those that failed (with the reason)."""

    ok: list[str]
    failing: dict[str, str]
    details: dict[str, str] = {}

    def redacted(self) -> Readiness:
        """The same verdicts without reasons or details (for callers without an admin key)."""
        return Readiness(ok=self.ok, failing=dict.fromkeys(self.failing, REDACTED))


async def _ping(plugin: BossPlugin, limit: float) -> tuple[bool, str | None]:
    try:
        with anyio.fail_after(limit):
            detail = await plugin.ping()
    except TimeoutError:
        return False, f"no answer within {limit:g} s"
    except Exception as exc:
        return False, str(exc) or type(exc).__name__
    return True, detail


async def check_readiness(plugins: Sequence[BossPlugin], limit: float = PING_TIMEOUT) -> Readiness:
    """Run every plugin's ping concurrently, each bounded by ``limit`` seconds."""
    results: dict[str, tuple[bool, str | None]] = {}

    async def run(plugin: BossPlugin) -> None:
        results[plugin.name] = await _ping(plugin, limit)

    async with anyio.create_task_group() as tg:
        for plugin in plugins:
            tg.start_soon(run, plugin)
    ok = sorted(name for name, (good, _) in results.items() if good)
    failing = {
        name: detail or "failing" for name, (good, detail) in sorted(results.items()) if not good
    }
    details = {name: detail for name, (good, detail) in sorted(results.items()) if good and detail}
    return Readiness(ok=ok, failing=failing, details=details)


@get(
    "/health",
    include_in_schema=True,
    tags=["health"],
    sync_to_thread=False,
    operation_id="getLiveness",
)
def liveness() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "ok"}


def is_admin(request: Request[Any, Any, Any], keyring: KeyRing | None) -> bool:
    """Whether ``request`` carries an admin key of ``keyring`` (outside the ``/api`` auth)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if keyring is None or scheme.lower() != "bearer" or not token.strip():
        return False
    key = keyring.identify(token.strip())
    return key is not None and key.role == "admin"


@get("/health/ready", tags=["health"], operation_id="getReadiness")
async def readiness(request: Request[Any, Any, Any], state: State) -> Response[Readiness]:
    """200 when every plugin's ping answers, 503 with the failing ones otherwise.

    Reasons and details only with an admin key (``Authorization: Bearer <key>``).
    """
    plugins: list[BossPlugin] = [p for p in state["boss_plugins"] if p.has_ping]
    result = await check_readiness(plugins)
    if not is_admin(request, state.get("keyring")):
        result = result.redacted()
    return Response(result, status_code=503 if result.failing else 200)


def health_handlers() -> list[HTTPRouteHandler]:
    """The health route handlers."""
    return [liveness, readiness]
