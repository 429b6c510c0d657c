"""Where the pinned Prometheus and Alertmanager binaries are: PATH first, then ``.tools/bin``.

``scripts/fetch-tools.sh`` (run by ``make pytest``) unpacks the pinned Debian builds into
``<repo>/.tools/bin``; the test also finds them there when pytest runs without the Makefile.
A missing tool fails the test with the command that installs it — it never skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ("REPO_ROOT", "TOOLS_BIN", "find_tool", "venv_bin")

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"


def find_tool(*names: str) -> str:
    """The first of ``names`` found on PATH or in ``.tools/bin``; AssertionError otherwise."""
    search = os.pathsep.join([os.environ.get("PATH", ""), str(TOOLS_BIN)])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    raise AssertionError(
        f"none of {', '.join(names)} is on PATH or in {TOOLS_BIN}; "
        "run `bash scripts/fetch-tools.sh` (or `make pytest`, which does it) first"
    )


def venv_bin(name: str) -> str:
    """A console script installed next to the running interpreter (``.venv/bin/boss``)."""
    import sys

    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name!r} is not installed next to {sys.executable} nor on PATH")
    return found
