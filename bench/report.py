"""Turn the section documents into ``bench/results/summary.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench._common import RESULTS, Options

__all__ = ("write_summary",)


def write_summary(documents: dict[str, Any], info: dict[str, Any], options: Options) -> Path:
    """Write the summary; placeholder."""
    path = RESULTS / "summary.md"
    path.write_text(str(documents))
    return path
