"""One-off measurement behind the date-library choice (docs/architecture.md, "AI intake").

Runs dateparser's ``search_dates`` and parsedatetime's ``Calendar.nlp`` UNAIDED (first hit of
the whole message, no grammar of ours) over the labelled corpus and prints, per library, how
many deadline dates match, the import time of a fresh interpreter and the mean time per
message. Needs both libraries installed (``pip install dateparser parsedatetime``); it is
not part of the test suite. Run: ``python -m tests.ai.date_library_comparison``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

__all__ = ("main",)

CORPUS = Path(__file__).parent / "corpus" / "team_lead.yaml"


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    )


def _dateparser(base: datetime) -> Callable[[str], date | None]:
    from dateparser.search import search_dates

    settings: Any = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}

    def first(text: str) -> date | None:
        hits = search_dates(text, languages=["en"], settings=settings)
        return hits[0][1].date() if hits else None

    return first


def _parsedatetime(base: datetime) -> Callable[[str], date | None]:
    import parsedatetime

    calendar = parsedatetime.Calendar(version=parsedatetime.VERSION_CONTEXT_STYLE)

    def first(text: str) -> date | None:
        hits = calendar.nlp(text, sourceTime=base)
        return hits[0][0].date() if hits else None

    return first


def main() -> None:
    """Print the comparison table."""
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    base = datetime.fromisoformat(data["reference"]["now"])
    cases = data["cases"]
    print(
        "| library | deadline date right (unaided) | import (s) | import + first parse (s) "
        "| per message (ms) |"
    )
    print("|---|---|---|---|---|")
    for name, factory, statement, first_parse in (
        (
            "dateparser 1.5 (search_dates)",
            _dateparser,
            "from dateparser.search import search_dates",
            "search_dates('fix it by Friday', languages=['en'])",
        ),
        (
            "parsedatetime 2.6 (nlp)",
            _parsedatetime,
            "import parsedatetime",
            "parsedatetime.Calendar().nlp('fix it by Friday')",
        ),
    ):
        parse = factory(base)
        parse("warm up tomorrow")
        right = 0
        started = time.perf_counter()
        for case in cases:
            expected = case["deadline"]
            want = date.fromisoformat(expected[:10]) if expected else None
            right += parse(case["text"]) == want
        per = (time.perf_counter() - started) / len(cases) * 1000
        print(
            f"| {name} | {right}/{len(cases)} ({right / len(cases):.0%}) "
            f"| {_import_seconds(statement):.3f} "
            f"| {_import_seconds(statement + '; ' + first_parse):.3f} | {per:.2f} |"
        )


if __name__ == "__main__":
    main()
