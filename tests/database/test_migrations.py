"""Migrations of every plugin branch, up and down, on SQLite and PostgreSQL; ``boss db``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from boss_tasks import TasksPlugin
from click.testing import CliRunner
from sqlalchemy import inspect

from boss.cli._main import cli
from boss.cli.db import migrate_embedded
from boss.database import Database
from boss.database import migrations as mig
from boss.settings import load_settings

pytestmark = pytest.mark.anyio


async def _tables(database: Database) -> set[str]:
    async with database.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names)


async def test_up_and_down(db_url: str) -> None:
    plugins = [TasksPlugin()]
    database = Database(db_url)
    try:
        await mig.downgrade(database, plugins, "base")
        assert await mig.current(database) == []
        await mig.upgrade(database, plugins)
        assert await mig.current(database) == mig.heads(plugins) == ["tasks_0002"]
        assert {"tasks", "tasks_audit", "tasks_idempotency"} <= await _tables(database)
        await mig.upgrade(database, plugins)  # idempotent
        await mig.downgrade(database, plugins, "tasks@base")
        assert await mig.current(database) == []
        assert not {"tasks", "tasks_audit", "tasks_idempotency"} & await _tables(database)
        await mig.upgrade(database, plugins, "tasks@head")
        assert {"tasks", "tasks_audit", "tasks_idempotency"} <= await _tables(database)
        await mig.downgrade(database, plugins, "base")
        assert not {"tasks", "tasks_audit", "tasks_idempotency"} & await _tables(database)
    finally:
        await database.dispose()


async def test_no_plugin_with_migrations_is_a_no_op(db_url: str) -> None:
    database = Database(db_url)
    try:
        await mig.upgrade(database, [])
        assert mig.heads([]) == []
    finally:
        await database.dispose()


def test_bad_migrations_package_names_the_plugin() -> None:
    class Broken(TasksPlugin):
        migrations = "no_such_package.migrations"

    with pytest.raises(mig.MigrationError, match=r"'tasks'.*no_such_package"):
        mig.version_locations([Broken()])


def test_cli_upgrade_current_downgrade(base_env: dict[str, str], db_url: str) -> None:
    env = {**base_env, "BOSS_DATABASE__URL": db_url}
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "downgrade", "base"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["db", "current"], env=env)
    assert "tasks_0002 (not applied)" in result.output
    result = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["db", "current"], env=env)
    assert result.exit_code == 0
    assert "tasks_0002 (head)" in result.output
    result = runner.invoke(cli, ["db", "downgrade", "base"], env=env)
    assert result.exit_code == 0, result.output
    assert "not applied" in runner.invoke(cli, ["db", "current"], env=env).output


def test_cli_unreachable_database_is_one_line_without_password(base_env: dict[str, str]) -> None:
    env = {**base_env, "BOSS_DATABASE__URL": "postgresql+asyncpg://boss:hunter2@127.0.0.1:1/x"}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert "boss: error: database" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_serve_migrates_the_embedded_sqlite(tmp_path: Path) -> None:
    settings = load_settings({"BOSS_DATA_DIR": str(tmp_path / "data")})
    migrate_embedded(settings)  # runs its own event loop, like ``boss serve`` before uvicorn

    async def tables() -> set[str]:
        database = Database.from_settings(settings)
        try:
            return await _tables(database)
        finally:
            await database.dispose()

    assert {"tasks", "tasks_audit"} <= asyncio.run(tables())


def test_serve_leaves_a_configured_database_alone(tmp_path: Path) -> None:
    # would fail loudly if it tried to connect to this closed port
    settings = load_settings(
        {
            "BOSS_DATA_DIR": str(tmp_path),
            "BOSS_DATABASE__URL": "postgresql+asyncpg://x@127.0.0.1:1/x",
        }
    )
    migrate_embedded(settings)


def test_serve_hook_is_registered() -> None:
    from boss.cli.serve import PREPARE_HOOKS

    assert migrate_embedded in PREPARE_HOOKS
