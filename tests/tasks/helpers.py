"""Helpers for tasks tests: create tasks, count rows, read /metrics."""

from __future__ import annotations

from typing import Any

import httpx
from boss_tasks.tables import audit, tasks
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from boss.database import Database
from tests.conftest import ADMIN, MEMBER

__all__ = ("ADMIN", "MEMBER", "counts", "create", "sample")


async def create(
    client: AsyncTestClient[Any] | httpx.AsyncClient, headers: dict[str, str] = ADMIN, **body: Any
) -> dict[str, Any]:
    """Create a task and return its JSON (asserting 201)."""
    body.setdefault("title", "Write the report")
    response = await client.post("/api/db/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def counts(db_url: str) -> tuple[int, int]:
    """How many task rows and audit rows the database holds."""
    database = Database(db_url)
    try:
        async with database.connect() as conn:
            n_tasks = (await conn.execute(select(func.count()).select_from(tasks))).scalar_one()
            n_audit = (await conn.execute(select(func.count()).select_from(audit))).scalar_one()
    finally:
        await database.dispose()
    return int(n_tasks), int(n_audit)


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of sample ``name`` with exactly ``labels`` in a /metrics text, or None."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return None
