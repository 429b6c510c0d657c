"""Read a Containerfile into stages of instructions (continuations joined, comments dropped)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ("Instruction", "Stage", "exec_form", "parse_env", "read_stages")


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``RUN``, ``COPY``, … and its argument text."""

    keyword: str
    args: str


@dataclass
class Stage:
    """A ``FROM`` and what follows it up to the next ``FROM``."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The argument texts of every ``keyword`` instruction of the stage."""
        return [i.args for i in self.instructions if i.keyword == keyword]


def read_stages(path: Path) -> list[Stage]:
    """The file's build stages in order (``ARG``s before the first ``FROM`` are dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, re.sub(r"\s+", " ", args)))
    return stages


def exec_form(args: str) -> list[str]:
    """An exec-form (JSON array) argument, e.g. of ``ENTRYPOINT`` or ``CMD``."""
    value = json.loads(args)
    assert isinstance(value, list), args
    return [str(v) for v in value]


def parse_env(stage: Stage) -> dict[str, str]:
    """Every ``ENV KEY=VALUE …`` of the stage."""
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for token in shlex.split(args):
            key, sep, value = token.partition("=")
            assert sep, f"ENV {args!r}: use the KEY=VALUE form"
            env[key] = value
    return env
