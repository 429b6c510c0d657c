"""One-line CLI errors: ``boss: error: …`` on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from boss._env import SettingsError
from boss.loader import PluginLoadError
from boss.settings import Settings, load_settings

__all__ = ("fail", "friendly_errors", "settings_or_exit")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as a one-line error and exit with ``code``."""
    click.echo(f"boss: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the errors users can fix (settings, plugins, files) into one-line messages."""
    try:
        yield
    except (SettingsError, PluginLoadError) as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: {exc.strerror}")


def settings_or_exit() -> Settings:
    """The settings from the environment, or a one-line error naming the bad variable."""
    with friendly_errors():
        return load_settings()
    raise AssertionError("unreachable")
