"""``boss plugins list``: what is installed, enabled, and what each plugin brings."""

from __future__ import annotations

from importlib.metadata import entry_points

import click
from rich.console import Console
from rich.table import Table

from boss.cli._errors import friendly_errors, settings_or_exit
from boss.loader import ENTRY_POINT_GROUP, load_plugins

__all__ = ("plugins",)


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
def list_plugins() -> None:
    """List installed plugins with version, distribution and fragment counts."""
    settings = settings_or_exit()
    with friendly_errors():
        loaded = load_plugins(settings)
    table = Table(title="boss plugins", title_justify="left")
    for column in (
        "name",
        "version",
        "distribution",
        "status",
        "metrics",
        "alerts",
        "panels",
        "entry point",
    ):
        table.add_column(
            column, justify="right" if column in ("metrics", "alerts", "panels") else "left"
        )
    enabled = {item.name for item in loaded}
    for item in loaded:
        p = item.plugin
        table.add_row(
            p.name,
            item.version or "-",
            item.distribution or "-",
            "enabled",
            str(len(p.metrics)),
            str(len(p.alerts)),
            str(len(p.panels)),
            item.entry_point,
        )
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name not in enabled:
            dist = ep.dist
            table.add_row(
                ep.name,
                dist.version if dist else "-",
                dist.name if dist else "-",
                "disabled",
                "-",
                "-",
                "-",
                f"{ep.name} = {ep.value}",
            )
    Console(width=200).print(table)
