"""``GET /health/db``: the database answers ``SELECT 1``, with the pool figures.

The failure answer says why (connection refused, timeout, …) but never carries the
database URL's user name or password.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from boss.database.engine import Database, DatabaseUnavailable

__all__ = ("database_health",)


@get("/health/db", tags=["health"], operation_id="getDatabaseHealth")
async def database_health(state: State) -> Response[dict[str, Any]]:
    """200 with pool figures when ``SELECT 1`` answers; 503 with the reason when not."""
    database: Database = state["database"]
    try:
        pool = await database.ping()
    except DatabaseUnavailable as exc:
        body: dict[str, Any] = {
            "status": "failing",
            "backend": database.backend,
            "reason": str(exc),
        }
        return Response(body, status_code=503)
    return Response({"status": "ok", "backend": database.backend, "pool": pool}, status_code=200)
