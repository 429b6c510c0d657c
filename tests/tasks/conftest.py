"""Fixtures for the tasks plugin: a migrated database on SQLite and on real PostgreSQL,
and a running app with the tasks plugin (plus optional helper plugins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from boss_tasks import TasksPlugin
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.settings import load_settings
from tests.conftest import migrated_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that needs a database runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database URL for ``backend`` (PostgreSQL: the session's fresh database)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def migrated(db_url: str) -> AsyncIterator[str]:
    """``db_url`` with every plugin's migrations applied; reverted to base afterwards."""
    async with migrated_database(db_url, [TasksPlugin()]) as url:
        yield url


@pytest.fixture
def env(base_env: dict[str, str], migrated: str) -> dict[str, str]:
    """Environment of a test app on the migrated database."""
    return {
        **base_env,
        "BOSS_DATABASE__URL": migrated,
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_TASKS__KNOWN_ASSIGNEES": "ana,bob",
        "BOSS_TASKS__STATUS_REFRESH_SECONDS": "0.05",
    }


AppFactory = Callable[..., Any]


@pytest.fixture
def make_app(env: dict[str, str]) -> AppFactory:
    """Build an app with the tasks plugin and any ``extra`` plugins; returns (app, tasks)."""

    def build(*extra: Any, **overrides: str) -> tuple[Any, TasksPlugin]:
        tasks = TasksPlugin()
        app = create_app(load_settings({**env, **overrides}), plugins=[tasks, *extra])
        return app, tasks

    return build


@pytest.fixture
async def client(make_app: AppFactory) -> AsyncIterator[AsyncTestClient[Any]]:
    """A started app with the tasks plugin."""
    app, _ = make_app()
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def served(make_app: AppFactory) -> AsyncIterator[tuple[str, TasksPlugin]]:
    """The app on a real uvicorn server on 127.0.0.1 (free port), for truly concurrent requests.

    ``AsyncTestClient`` runs requests one after another; a real server lets them overlap.
    """
    import asyncio

    import uvicorn

    app, tasks = make_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    runner = asyncio.create_task(server.serve())
    while not server.started:
        if runner.done():
            runner.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", tasks
    finally:
        server.should_exit = True
        await runner
