"""On PostgreSQL the list queries use indexes (EXPLAIN on a few thousand rows).

The statements are the ones ``TaskService.list`` runs (built by ``TaskQuery``), compiled
for PostgreSQL with their values inline, after ``ANALYZE`` so the planner knows the data.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from boss_tasks import TasksPlugin
from boss_tasks.listing import TaskQuery, priority_rank
from boss_tasks.tables import tasks
from sqlalchemy import and_, insert, select, text
from sqlalchemy.dialects import postgresql

from boss.database import Database
from boss.database import migrations as mig

pytestmark = pytest.mark.anyio

ROWS = 5000
WORDS = ["report", "invoice", "supplier", "login", "deploy", "review", "budget", "meeting"]


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", ()):
        nodes.extend(_plan_nodes(child))
    return nodes


@pytest.fixture
async def big_pg(pg_url: str) -> Any:
    database = Database(pg_url)
    plugins = [TasksPlugin()]
    await mig.downgrade(database, plugins, "base")
    await mig.upgrade(database, plugins)
    rng = random.Random(14)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(ROWS):
        priority = rng.choice(["low", "medium", "medium", "high", "urgent"])
        rows.append(
            {
                "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
                "description": "rare zebra note" if i % 997 == 0 else f"{rng.choice(WORDS)} text",
                "assignee": "Rare.Person"
                if i % 1000 == 7
                else (f"user{i % 60}" if i % 10 else None),
                "priority": priority,
                "priority_rank": priority_rank(priority),
                "deadline": now + timedelta(hours=i) if i % 3 else None,
                "status": "blocked" if i % 100 == 0 else rng.choice(["pending", "completed"]),
                "created_at": now + timedelta(minutes=i),
                "updated_at": now + timedelta(minutes=i),
                "version": 1,
            }
        )
    async with database.begin() as conn:
        await conn.execute(insert(tasks), rows)
    async with database.connect() as conn:
        await conn.execute(text("ANALYZE tasks"))
        await conn.commit()
    yield database
    await mig.downgrade(database, plugins, "base")
    await database.dispose()


async def _explain(
    database: Database, query: TaskQuery, *, bitmap_only: bool = False, limit: int = 21
) -> tuple[str, str]:
    statement = (
        select(tasks)
        .where(and_(*query.conditions(datetime(2026, 6, 1, tzinfo=UTC))))
        .order_by(*query.order_by())
        .limit(limit)
    )
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    async with database.connect() as conn:
        if bitmap_only:
            await conn.execute(text("SET enable_seqscan = off"))
            await conn.execute(text("SET enable_indexscan = off"))
        raw = (await conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes = _plan_nodes(plan)
    kinds = " / ".join(f"{n['Node Type']}:{n.get('Index Name', '')}" for n in nodes)
    return kinds, sql


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (TaskQuery(), "pk_tasks"),  # newest first
        (TaskQuery(status=("blocked",)), "ix_tasks_status_number"),
        (TaskQuery(assignee=("rare.PERSON",)), "ix_tasks_assignee_lower"),
        (TaskQuery(sort="deadline"), "ix_tasks_deadline"),
        (TaskQuery(sort="-priority"), "ix_tasks_priority_rank"),
        (TaskQuery(sort="-updated_at"), "ix_tasks_updated_at"),
        (
            TaskQuery(updated_since=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=4950)),
            "ix_tasks_updated_at",
        ),
    ],
)
async def test_list_queries_use_indexes(big_pg: Database, query: TaskQuery, index: str) -> None:
    kinds, sql = await _explain(big_pg, query)
    assert "Seq Scan" not in kinds, (kinds, sql)
    assert index in kinds, (kinds, sql)


async def test_text_search_can_use_the_trigram_indexes(big_pg: Database) -> None:
    """On 5000 rows a sequential scan is cheaper than the GIN indexes (PostgreSQL rightly
    picks it); with scans of the whole table and of the id index ruled out, the planner
    answers ``q`` from both trigram indexes (the plan it can switch to as the table grows)."""
    kinds, sql = await _explain(big_pg, TaskQuery(q="zebra"), bitmap_only=True)
    assert "ix_tasks_title_trgm" in kinds, (kinds, sql)
    assert "ix_tasks_description_trgm" in kinds, (kinds, sql)
    assert "Seq Scan" not in kinds, (kinds, sql)
