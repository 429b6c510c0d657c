"""``boss plugins list`` and ``boss plugins new``: what is installed, and a new plugin."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from boss.cli._errors import fail, friendly_errors, settings_or_exit
from boss.loader import ENTRY_POINT_GROUP, LoadedPlugin, load_plugins
from boss.scaffold import ScaffoldError, scaffold

__all__ = ("plugins",)

_COUNTS = ("metrics", "recording_rules", "alerts", "rule_tests", "panels", "slos")


@click.group()
def plugins() -> None:
    """Inspect installed plugins, or start a new one."""


def _counts(item: LoadedPlugin) -> dict[str, int]:
    # getattr: SLOs are a newer fragment type; a plugin without the attribute has none.
    return {kind: len(getattr(item.plugin, kind, ()) or ()) for kind in _COUNTS}


def _rows(loaded: list[LoadedPlugin]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    enabled = {item.name for item in loaded}
    for item in loaded:
        rows.append(
            {
                "name": item.name,
                "version": item.version or None,
                "distribution": item.distribution or None,
                "status": "enabled",
                **_counts(item),
                "entry_point": item.entry_point,
            }
        )
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name not in enabled and ep.name not in {r["name"] for r in rows}:
            dist = ep.dist
            rows.append(
                {
                    "name": ep.name,
                    "version": dist.version if dist else None,
                    "distribution": dist.name if dist else None,
                    "status": "disabled",
                    **dict.fromkeys(_COUNTS),
                    "entry_point": f"{ep.name} = {ep.value}",
                }
            )
    return rows


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (one object each).")
def list_plugins(as_json: bool) -> None:
    """List installed plugins with version, distribution and fragment counts."""
    settings = settings_or_exit()
    with friendly_errors():
        loaded = load_plugins(settings)
    rows = _rows(loaded)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="boss plugins", title_justify="left")
    headers = {"recording_rules": "rules", "rule_tests": "tests"}
    for column in ("name", "version", "distribution", "status", *_COUNTS, "entry point"):
        table.add_column(
            headers.get(column, column), justify="right" if column in _COUNTS else "left"
        )
    for row in rows:
        table.add_row(
            row["name"],
            row["version"] or "-",
            row["distribution"] or "-",
            row["status"],
            *("-" if row[kind] is None else str(row[kind]) for kind in _COUNTS),
            row["entry_point"],
        )
    Console(width=220).print(table)


@plugins.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the distribution [default: ./boss-NAME].",
)
def new_plugin(name: str, directory: Path | None) -> None:
    """Create a complete plugin distribution boss-NAME that installs and passes its tests."""
    dest = directory if directory is not None else Path(f"boss-{name.replace('_', '-')}")
    try:
        written = scaffold(name, dest)
    except ScaffoldError as exc:
        fail(str(exc))
    click.echo(f"created {dest}/ with {len(written)} files:")
    for path in written:
        click.echo(f"  {path.relative_to(dest).as_posix()}")
    click.echo(f"next: pip install -e '{dest}[test]' && pytest {dest}")
