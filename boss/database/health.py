"""``GET /health/db``: the database answers ``SELECT 1``, with the pool figures.

The failure answer says why (connection refused, timeout, …) to admin keys only, and
never carries the database URL's user name or password.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from boss.database.engine import Database, DatabaseUnavailable
from boss.health import is_admin

__all__ = ("database_health",)


@get("/health/db", tags=["health"], operation_id="getDatabaseHealth")
async def database_health(
    request: Request[Any, Any, Any], state: State
) -> Response[dict[str, Any]]:
    """200 with pool figures when ``SELECT 1`` answers; 503 when not (the reason: admin key only)."""
    database: Database = state["database"]
    try:
        pool = await database.ping()
    except DatabaseUnavailable as exc:
        body: dict[str, Any] = {
            "status": "failing",
            "backend": database.backend,
        }
        if is_admin(request, state.get("keyring")):
            body["reason"] = str(exc)
        return Response(body, status_code=503)
    return Response({"status": "ok", "backend": database.backend, "pool": pool}, status_code=200)
