"""The monitoring build: every installed plugin's fragments merged into validated configs.

``render`` validates and renders in memory, ``write`` puts the files on disk, ``drift``
compares, and ``run_checks`` runs promtool and amtool on the result. The CLI is
``boss monitoring build`` / ``boss monitoring check`` (``boss.cli.monitoring``).
"""

from __future__ import annotations

from boss.monitoring.build import drift, load_fragments, render, write
from boss.monitoring.errors import BuildError, Problem, ToolMissingError
from boss.monitoring.options import BuildOptions
from boss.monitoring.tools import CheckResult, find_tool, run_checks

__all__ = (
    "BuildError",
    "BuildOptions",
    "CheckResult",
    "Problem",
    "ToolMissingError",
    "drift",
    "find_tool",
    "load_fragments",
    "render",
    "run_checks",
    "write",
)
