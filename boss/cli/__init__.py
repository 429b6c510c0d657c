"""The ``boss`` command line: serve, plugins, config, and the commands plugins add."""

from __future__ import annotations

from boss.cli._main import main

__all__ = ("main",)
