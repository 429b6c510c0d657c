"""Alembic, configured in code: every enabled plugin's versions are one branch each.

A plugin names a package in ``BossPlugin.migrations``; its first revision carries the
plugin's name as ``branch_labels`` and ``down_revision = None``. ``upgrade`` applies every
branch (``heads``), ``downgrade`` takes a revision, ``<plugin>@base`` or ``base``. All of it
runs on the app's async engine through ``connection.run_sync``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from boss.database.engine import Database
from boss.plugin import BossPlugin

__all__ = (
    "ENV_DIR",
    "MigrationError",
    "alembic_config",
    "current",
    "downgrade",
    "heads",
    "upgrade",
    "version_locations",
)

ENV_DIR = Path(__file__).with_name("migration_env")
"""Alembic's script location: boss's ``env.py`` (and the template for new revisions)."""


class MigrationError(RuntimeError):
    """A plugin's migrations cannot be found or applied; the message names the plugin."""


def version_locations(plugins: Iterable[BossPlugin]) -> dict[str, Path]:
    """Each plugin with migrations, mapped to the directory holding its version files."""
    found: dict[str, Path] = {}
    for plugin in plugins:
        package = plugin.migrations
        if not package:
            continue
        try:
            module = import_module(package)
        except ImportError as exc:
            raise MigrationError(
                f"plugin {plugin.name!r}: migrations package {package!r} cannot be imported: {exc}"
            ) from None
        paths = list(getattr(module, "__path__", []))
        if not paths:
            raise MigrationError(f"plugin {plugin.name!r}: {package!r} is not a package")
        found[plugin.name] = Path(paths[0])
    return found


def alembic_config(plugins: Iterable[BossPlugin], connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` over the plugins' version directories (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("path_separator", "os")
    locations = [str(path) for path in version_locations(plugins).values()]
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def heads(plugins: Sequence[BossPlugin]) -> list[str]:
    """The newest revision of every plugin branch."""
    if not version_locations(plugins):
        return []
    return sorted(ScriptDirectory.from_config(alembic_config(plugins)).get_heads())


def _run(connection: Connection, plugins: Sequence[BossPlugin], action: str, revision: str) -> None:
    cfg = alembic_config(plugins, connection)
    if action == "upgrade":
        command.upgrade(cfg, revision)
    else:
        command.downgrade(cfg, revision)


async def upgrade(
    database: Database, plugins: Sequence[BossPlugin], revision: str = "heads"
) -> None:
    """Apply every enabled plugin's migrations up to ``revision`` (default: all heads)."""
    if not version_locations(plugins):
        return
    async with database.begin() as conn:
        await conn.run_sync(_run, plugins, "upgrade", revision)


async def downgrade(database: Database, plugins: Sequence[BossPlugin], revision: str) -> None:
    """Revert to ``revision`` (a revision id, ``<plugin>@base``, ``base`` for everything)."""
    if not version_locations(plugins):
        return
    async with database.begin() as conn:
        await conn.run_sync(_run, plugins, "downgrade", revision)


def _current(connection: Connection) -> Any:
    return MigrationContext.configure(connection).get_current_heads()


async def current(database: Database) -> list[str]:
    """The revisions the database is at (one per applied plugin branch)."""
    async with database.connect() as conn:
        revisions = await conn.run_sync(_current)
    return sorted(revisions)
