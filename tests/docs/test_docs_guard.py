"""Guards on the repository's Markdown: size, relative links that resolve, no repeated
paragraphs — so a broken string replace (docs/performance.md once grew to 12.6 MB by one
paragraph inserted between every character) or a moved page cannot land unnoticed."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_BYTES = 200 * 1024
MIN_REPEATED = 60
"""Shorter paragraphs ("- labels: none", a table rule) may legitimately repeat."""

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?")
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def tracked_markdown() -> list[Path]:
    """Every Markdown file git tracks (the guard is about what can land)."""
    done = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(REPO / rel for rel in done.stdout.split("\0") if rel)


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (code may show links and repeat freely)."""
    out, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        out.append("" if fenced else line)
    return out


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks of prose, whitespace-normalised."""
    blocks, current = [], []
    for line in [*prose(text), ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    return blocks


def relative_links(text: str) -> list[str]:
    """Link and image targets that are paths (not URLs, not in-page anchors)."""
    found = []
    for line in prose(text):
        line = _CODE_SPAN.sub("", line)
        for match in [*_LINK.finditer(line), *_IMAGE.finditer(line)]:
            target = match.group(1)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
                continue
            found.append(target)
    return found


def broken_links(path: Path) -> list[str]:
    """Relative links of ``path`` whose file or folder does not exist."""
    out = []
    for target in relative_links(path.read_text(encoding="utf-8")):
        file_part = unquote(target.split("#", 1)[0].split("?", 1)[0])
        base = REPO if file_part.startswith("/") else path.parent
        if not (base / file_part.lstrip("/")).exists():
            out.append(target)
    return out


def repeated_paragraphs(text: str) -> list[str]:
    """Paragraphs (long enough to matter) that occur more than once."""
    counts = Counter(p for p in paragraphs(text) if len(p) >= MIN_REPEATED)
    return [p for p, n in counts.items() if n > 1]


MARKDOWN = tracked_markdown()
LINKED = [p for p in MARKDOWN if p.name == "README.md" and p.parent == REPO] + [
    p for p in MARKDOWN if REPO / "docs" in p.parents
]


def _id(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_guard_sees_the_docs() -> None:
    names = {_id(p) for p in MARKDOWN}
    assert {"README.md", "docs/plugins.md", "docs/performance.md"} <= names
    assert REPO / "README.md" in LINKED


@pytest.mark.parametrize("path", MARKDOWN, ids=_id)
def test_markdown_is_small(path: Path) -> None:
    size = path.stat().st_size
    assert size <= MAX_BYTES, f"{_id(path)} is {size / 1024:.0f} KB (limit {MAX_BYTES // 1024} KB)"


@pytest.mark.parametrize("path", LINKED, ids=_id)
def test_relative_links_resolve(path: Path) -> None:
    assert broken_links(path) == [], f"{_id(path)} links to missing files"


@pytest.mark.parametrize("path", MARKDOWN, ids=_id)
def test_no_paragraph_repeats(path: Path) -> None:
    repeats = repeated_paragraphs(path.read_text(encoding="utf-8"))
    assert repeats == [], f"{_id(path)} repeats: {[r[:80] for r in repeats]}"


def test_the_guards_catch_what_they_guard(tmp_path: Path) -> None:
    """Each check fails on a planted defect (the 12.6 MB performance.md pattern included)."""
    para = "The build step runs promtool once per plugin and caches what it learned since."
    assert repeated_paragraphs("\n\n".join(["# T", para, "other text", para])) == [para]
    broken = "".join(f"{c}\n\n{para}\n\n" for c in "abc")
    assert repeated_paragraphs(broken) == [para]
    fenced = f"```\n{para}\n```\n\n{para}\n"
    assert repeated_paragraphs(fenced) == []
    docs = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("#\n")
    docs.write_text(
        "[ok](there.md#a) [gone](missing.md) [web](https://x.org) [top](#t) `[no](x.md)`\n"
    )
    assert relative_links(docs.read_text()) == ["there.md#a", "missing.md"]
