"""Priority words a team lead uses ("p0", "asap", "critical", "high prio", "no rush", "whenever")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from boss_ai.draft import Priority

__all__ = ("PRIORITY_WORDS", "PriorityHit", "find_priorities")

_INTENSIFIER = r"(?:(?:very|super|really|extremely|quite|most)\s+)?"
_LEVELS: tuple[tuple[Priority, str], ...] = (
    (
        "low",
        r"not\s+(?:urgent|critical|important)|no\s+(?:rush|hurry)|low[\s-]*(?:priority|prio|pri)"
        r"|p[34]|sev(?:erity)?\s*[45]|prio(?:rity)?\s*[:=]?\s*(?:low|p?[34])|\(low\)"
        r"|whenever(?:\s+you\s+(?:get\s+(?:a|the)\s+chance|have\s+(?:a\s+(?:moment|minute|sec)|time)|can))?"
        r"|when\s+you\s+(?:get\s+(?:a|the)\s+chance|have\s+(?:a\s+(?:moment|minute|sec)|time)|can)"
        r"|someday|nice[\s-]to[\s-]have",
    ),
    (
        "urgent",
        r"p0|sev(?:erity)?\s*[01]|prio(?:rity)?\s*[:=]?\s*(?:urgent|critical|p?0)|urgent(?:ly)?(?:\s+priority)?"
        r"|asap|a\.s\.a\.p\.?|critical(?:\s+priority)?|emergency|immediately|right\s+away|right\s+now"
        r"|(?:top|highest)\s+(?:priority|prio)|blocker",
    ),
    (
        "high",
        r"p1|sev(?:erity)?\s*2|high(?:est)?[\s-]*(?:priority|prio|pri)|hi-?pri|prio(?:rity)?\s*[:=]?\s*(?:high|p?1)"
        r"|\(high\)|important",
    ),
    (
        "medium",
        r"p2|sev(?:erity)?\s*3|(?:medium|normal)[\s-]*(?:priority|prio|pri)|prio(?:rity)?\s*[:=]?\s*(?:medium|normal|p?2)"
        r"|\(medium\)",
    ),
)
_ALTERNATIVES = "|".join(rf"(?P<{level}>{words})" for level, words in _LEVELS)
_PATTERN = re.compile(
    r"(?:\b(?:this|it)(?:\s+is|'s|\u2019s)\s+)?(?P<open>[\[(])?"
    + _INTENSIFIER
    + rf"(?<![\w-])(?:{_ALTERNATIVES})(?![\w-])(?(open)[\])])!*",
    re.IGNORECASE,
)
_ATTRIBUTIVE = re.compile(r"\b(?:the|a|an|this|that|our|your|some|my|their|its)\s+$", re.IGNORECASE)

PRIORITY_WORDS = frozenset(
    {"urgent", "critical", "important", "asap", "high", "low", "medium", "normal", "whenever"}
)
"""Words that name a priority, never a person."""


@dataclass(frozen=True)
class PriorityHit:
    """One priority phrase: its level and span; ``removable`` is false for "the urgent fix"."""

    level: Priority
    start: int
    end: int
    removable: bool


def find_priorities(text: str) -> list[PriorityHit]:
    """Every priority phrase in ``text`` in order (the first one decides the level)."""
    hits = []
    for match in _PATTERN.finditer(text):
        level = next(name for name, _ in _LEVELS if match.group(name))
        attributive = bool(_ATTRIBUTIVE.search(text[: match.start()])) and bool(
            re.match(r"\s+[a-z]", text[match.end() :])
        )
        hits.append(PriorityHit(level, match.start(), match.end(), not attributive))
    return hits
