"""``boss config show``: the effective settings, secrets redacted."""

from __future__ import annotations

from typing import Any

import click
import msgspec
import yaml

from boss._env import redacted
from boss.cli._errors import friendly_errors, settings_or_exit
from boss.loader import load_plugins

__all__ = ("config",)


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
def show() -> None:
    """Print the effective settings (core and every enabled plugin), secrets as ***."""
    settings = settings_or_exit()
    out: dict[str, Any] = settings.redacted()
    with friendly_errors():
        for item in load_plugins(settings):
            kind = item.plugin.settings_type
            if kind is not None:
                section = msgspec.to_builtins(settings.section(item.name, kind))
                out[item.name] = redacted(section, key=item.name)
    click.echo(yaml.safe_dump(out, sort_keys=False, default_flow_style=False).rstrip())
