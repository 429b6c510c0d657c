"""``boss db``: apply, revert and inspect every enabled plugin's schema migrations.

Alembic is configured in code (no ``alembic.ini``): each plugin's versions are one branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.engine import make_url

from boss.cli._errors import fail, friendly_errors, settings_or_exit
from boss.database import Database, describe_error
from boss.database import migrations as mig
from boss.loader import load_plugins
from boss.plugin import BossPlugin
from boss.settings import Settings

__all__ = ("db", "migrate_embedded")

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Database, list[BossPlugin]], Awaitable[T]]) -> T:
    """Run ``work`` on a fresh database connection; one-line errors, no traceback."""
    with friendly_errors():
        plugins = [item.plugin for item in load_plugins(settings)]

    async def go() -> T:
        database = Database.from_settings(settings)
        try:
            return await work(database, plugins)
        finally:
            await database.dispose()

    try:
        return asyncio.run(go())
    except mig.MigrationError as exc:
        fail(str(exc))
    except Exception as exc:
        secret = (make_url(settings.database_url).password or "",)
        fail(
            f"database {settings.redacted()['database']['url']}: {describe_error(exc, secrets=secret)}"
        )


@click.group()
def db() -> None:
    """Database schema: migrations of every enabled plugin."""


@db.command()
@click.argument("revision", default="heads")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: every plugin's newest, 'heads')."""
    settings = settings_or_exit()
    _run(settings, lambda database, plugins: mig.upgrade(database, plugins, revision))
    click.echo(f"boss: database upgraded to {revision}")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert to REVISION: a revision id, '<plugin>@base', '-1' or 'base' (drop everything)."""
    settings = settings_or_exit()
    _run(settings, lambda database, plugins: mig.downgrade(database, plugins, revision))
    click.echo(f"boss: database downgraded to {revision}")


@db.command()
def current() -> None:
    """Show the revision each plugin branch is at, and whether it is the newest."""
    settings = settings_or_exit()

    async def work(database: Database, plugins: list[BossPlugin]) -> tuple[list[str], list[str]]:
        return await mig.current(database), mig.heads(plugins)

    at, newest = _run(settings, work)
    for revision in at:
        state = "head" if revision in newest else "behind"
        click.echo(f"{revision} ({state})")
    for revision in newest:
        if revision not in at:
            click.echo(f"{revision} (not applied)")
    if not at and not newest:
        click.echo("no migrations: no enabled plugin has a schema")


def migrate_embedded(settings: Settings) -> None:
    """``boss serve`` hook: bring the embedded SQLite default up to date by itself.

    A configured database (``BOSS_DATABASE__URL``) is left to ``boss db upgrade``, which
    ops run once per deploy, not once per worker.
    """
    if settings.database.url:
        return
    _run(settings, lambda database, plugins: mig.upgrade(database, plugins, "heads"))
