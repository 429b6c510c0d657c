"""The root ``boss`` click group; each sub-command lives in a module of its own."""

from __future__ import annotations

import click

from boss.cli.config import config
from boss.cli.db import db
from boss.cli.monitoring import monitoring
from boss.cli.plugins import plugins
from boss.cli.serve import serve

__all__ = ("cli", "main")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="boss")
def cli() -> None:
    """boss: a team's task workflow service, observable by construction."""


cli.add_command(serve)
cli.add_command(plugins)
cli.add_command(config)
cli.add_command(db)
cli.add_command(monitoring)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="boss")
