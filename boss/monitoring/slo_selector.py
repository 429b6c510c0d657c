"""Read the selectors of an SLI (``name{label=~"value", …}``) and find label values they match.

The SLO desugaring needs the matchers themselves (operator and value, not only the label
names the PromQL reader keeps) to add ``le`` to a histogram selector and to generate rule
test series that do, or do not, match the good and bad events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ("Matcher", "SLISelector", "SelectorError", "matches", "pick_value", "read_selector")

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.DOTALL)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_DEFAULTS = ("200", "x", "ok", "other", "GET", "/", "0", "a")


class SelectorError(ValueError):
    """The text is not one metric name with optional double-quoted label matchers."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher as written (``value`` keeps its PromQL escapes)."""

    label: str
    op: str
    value: str

    @property
    def text(self) -> str:
        """The matcher as PromQL."""
        return f'{self.label}{self.op}"{self.value}"'

    @property
    def plain(self) -> str:
        """The value with its string escapes resolved (what the regex or equality sees)."""
        try:
            decoded: str = json.loads(f'"{self.value}"')
        except json.JSONDecodeError:
            return self.value
        return decoded

    def accepts(self, value: str) -> bool:
        """Whether a series with ``label=value`` passes this matcher (regexes are anchored)."""
        if self.op == "=":
            return value == self.plain
        if self.op == "!=":
            return value != self.plain
        try:
            hit = re.fullmatch(self.plain, value) is not None
        except re.error:
            hit = False
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True, slots=True)
class SLISelector:
    """A metric name and its matchers."""

    metric: str
    matchers: tuple[Matcher, ...]

    def render(self, metric: str | None = None, extra: Sequence[Matcher] = ()) -> str:
        """PromQL for this selector, optionally on another series name and with more matchers."""
        inner = ", ".join(m.text for m in (*self.matchers, *extra))
        return f"{metric or self.metric}{{{inner}}}" if inner else (metric or self.metric)

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels the matchers name, in order, once each."""
        return tuple(dict.fromkeys(m.label for m in self.matchers))


def read_selector(text: str) -> SLISelector:
    """Parse ``name{…}``; raises ``SelectorError`` naming what is wrong."""
    m = _SELECTOR.match(text)
    if m is None:
        raise SelectorError(f"{text!r} is not a metric name with optional {{label matchers}}")
    body = m.group(2) or ""
    found: list[Matcher] = []
    pos = 0
    while body[pos:].strip():
        hit = _MATCHER.match(body, pos)
        if hit is None:
            raise SelectorError(f"{text!r}: malformed label matcher at {body[pos:].strip()!r}")
        found.append(Matcher(hit.group(1), hit.group(2), hit.group(3)))
        pos = hit.end()
    return SLISelector(m.group(1), tuple(found))


def matches(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether a series with ``labels`` passes every matcher (absent labels are empty)."""
    return all(m.accepts(labels.get(m.label, "")) for m in matchers)


def _regex_guesses(pattern: str) -> list[str]:
    """Strings a simple regex probably matches (checked by the caller)."""
    guesses = []
    for alt in pattern.split("|"):
        text = alt.strip("^$()")
        text = re.sub(r"\[([^\]])[^\]]*\]", r"\1", text)
        text = text.replace(".*", "").replace(".+", "x").replace("\\d", "0")
        text = re.sub(r"(?<!\\)\.", "0", text).replace("\\", "")
        text = re.sub(r"[?*+]", "", text)
        guesses.append(text)
    return guesses


def pick_value(
    label: str,
    must: Sequence[Matcher],
    must_fail: Sequence[Matcher] = (),
    known: Sequence[str] = (),
) -> str | None:
    """A value of ``label`` passing every matcher in ``must`` and failing one in ``must_fail``.

    Candidates come from the label's declared values, the matchers' own values and a few
    common ones; ``None`` when none fits.
    """
    mine = [m for m in must if m.label == label]
    fail = [m for m in must_fail if m.label == label]
    candidates: list[str] = list(known)
    for m in (*mine, *fail):
        if m.op == "=":
            candidates.append(m.plain)
        elif m.op == "=~":
            candidates.extend(_regex_guesses(m.plain))
    candidates.extend(_DEFAULTS)
    for value in dict.fromkeys(candidates):
        if all(m.accepts(value) for m in mine) and (
            not must_fail or any(not m.accepts(value) for m in fail)
        ):
            return value
    return None
