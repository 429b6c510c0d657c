"""The labelled corpus (tests/ai/corpus/team_lead.yaml) and how a draft is scored against it.

A field is right when: assignee equals (case-insensitive) or both are absent; priority equals;
deadline names the same local day and, when the case names a time, the same time (otherwise
the end of that day), or both are absent; the title contains every expected keyword and none
of the forbidden words (the assignee's name, words of ``title_not``). Run as a script to print
the table for docs/ai.md: ``python -m tests.ai.corpus [holdout.yaml|unseen.yaml] [--misses]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

__all__ = ("FIELDS", "Case", "Score", "load", "score", "table")

CORPUS = Path(__file__).parent / "corpus" / "team_lead.yaml"
FIELDS = ("title", "assignee", "priority", "deadline")


@dataclass(frozen=True)
class Case:
    """One labelled message."""

    text: str
    assignee: str | None
    priority: str
    deadline: str | None
    title: tuple[str, ...]
    title_not: tuple[str, ...] = ()


@dataclass
class Score:
    """Per-field right answers, the misses, and (confidence, all right) pairs for calibration."""

    total: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)
    confidence: list[tuple[float, bool]] = field(default_factory=list)
    by_flag: dict[tuple[str, bool], list[int]] = field(default_factory=dict)

    def rate(self, name: str) -> float:
        """Share of cases whose ``name`` field is right."""
        return self.right[name] / self.total if self.total else 0.0


def load(path: Path = CORPUS) -> tuple[datetime, ZoneInfo, list[Case]]:
    """The reference moment (aware), the team's zone and the cases of a corpus file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    zone = ZoneInfo(data["reference"]["timezone"])
    now = datetime.fromisoformat(data["reference"]["now"]).replace(tzinfo=zone)
    cases = [
        Case(
            text=raw["text"],
            assignee=raw["assignee"],
            priority=raw["priority"],
            deadline=raw["deadline"],
            title=tuple(str(word) for word in raw["title"]),
            title_not=tuple(str(word) for word in raw.get("title_not", ())),
        )
        for raw in data["cases"]
    ]
    return now, zone, cases


def _deadline_right(expected: str | None, got: Any, zone: ZoneInfo) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    local = got.astimezone(zone)
    want = datetime.fromisoformat(expected)
    if "T" in expected:
        return local.replace(tzinfo=None, second=0, microsecond=0) == want
    return local.date() == want.date() and local.time() == time(23, 59, 59)


def check(case: Case, draft: Any, zone: ZoneInfo) -> dict[str, bool]:
    """Which fields of ``draft`` (a TaskDraft) are right for ``case``."""
    title = draft.title.lower()
    forbidden = [*case.title_not]
    if case.assignee and not any(case.assignee.lower() in k.lower() for k in case.title):
        forbidden.append(case.assignee)
    return {
        "title": all(k.lower() in title for k in case.title)
        and not any(f.lower() in title.split() or f"{f.lower()}:" in title for f in forbidden),
        "assignee": (draft.assignee or "").lower() == (case.assignee or "").lower(),
        "priority": draft.priority == case.priority,
        "deadline": _deadline_right(case.deadline, draft.deadline, zone),
    }


def score(parse: Callable[[str], Any], cases: Iterable[Case], zone: ZoneInfo) -> Score:
    """Run ``parse`` (text -> TaskDraft) over ``cases``."""
    result = Score()
    for case in cases:
        draft = parse(case.text)
        fields = check(case, draft, zone)
        result.total += 1
        for name, ok in fields.items():
            result.right[name] += ok
            if not ok:
                got = getattr(draft, name)
                want = getattr(case, name)
                result.misses.append((name, case.text, repr(want), repr(got)))
            flag = bool(getattr(draft.recognised, name)) if draft.recognised else True
            bucket = result.by_flag.setdefault((name, flag), [0, 0])
            bucket[0] += ok
            bucket[1] += 1
        result.confidence.append((draft.confidence, all(fields.values())))
    return result


def table(result: Score) -> str:
    """The per-field table (markdown) and the calibration table."""
    lines = [
        f"| field | right | of {result.total} | rate |",
        "|---|---|---|---|",
        *(
            f"| {name} | {result.right[name]} | {result.total} | {result.rate(name):.1%} |"
            for name in FIELDS
        ),
        "",
        "| field | recognised | right / cases |",
        "|---|---|---|",
        *(
            f"| {name} | {'yes' if flag else 'no'} | {bucket[0]} / {bucket[1]} |"
            for (name, flag), bucket in sorted(result.by_flag.items())
        ),
        "",
        "| confidence | cases | all four fields right |",
        "|---|---|---|",
    ]
    bands: dict[str, list[bool]] = {}
    for confidence, ok in result.confidence:
        band = "< 0.5" if confidence < 0.5 else ("0.5 - 0.9" if confidence < 0.9 else ">= 0.9")
        bands.setdefault(band, []).append(ok)
    for band in ("< 0.5", "0.5 - 0.9", ">= 0.9"):
        oks = bands.get(band, [])
        if oks:
            lines.append(f"| {band} | {len(oks)} | {sum(oks) / len(oks):.0%} |")
    return "\n".join(lines)


def _offline(path: Path) -> Score:
    from boss_ai.offline import parse_text

    now, zone, cases = load(path)
    return score(lambda text: parse_text(text, now, zone), cases, zone)


if __name__ == "__main__":
    names = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    outcome = _offline(CORPUS.parent / names[0] if names else CORPUS)
    print(table(outcome))
    if "--misses" in sys.argv:
        for name, text, want, got in outcome.misses:
            print(f"{name:9} want {want:28} got {got:40} | {text}")
