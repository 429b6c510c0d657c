"""Build failures that name the plugin, the fragment and the problem, all at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ("BuildError", "Problem", "ToolMissingError")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one fragment of one plugin."""

    plugin: str
    """How the plugin is named in messages: ``plugin 'x' (entry point …)``."""
    fragment: str
    """Which fragment: ``alert 'HighErrorRate'``, ``panel 'HTTP request rate'``, …"""
    message: str

    def __str__(self) -> str:
        return f"{self.plugin}, {self.fragment}: {self.message}"


class BuildError(Exception):
    """The fragments are invalid; nothing was written. ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"monitoring build failed ({len(self.problems)} problem(s)):\n{lines}")


class ToolMissingError(RuntimeError):
    """promtool, amtool, prometheus or alertmanager is neither on PATH nor in .tools/bin."""
