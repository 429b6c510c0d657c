"""Section 2: /metrics cost."""

from __future__ import annotations

from typing import Any

from bench._common import Options

__all__ = ("run",)


def run(options: Options) -> tuple[dict[str, Any], dict[str, int]]:
    """Not yet available."""
    return {"skipped": "not written yet"}, {}
