"""The assignee of a task sentence, found by the context a person's name stands in.

A capitalised word is a person only in a context that makes it one: at the start before ``:``,
``,`` or a modal verb ("Carla should", "Bob to", "Dan needs to", "Tom, please"), after "ask",
"have", "get", "tell" or "assign to", as an ``@handle``, trailing after a dash or in
parentheses, or after "for". Label words ("Reminder:", "Security:"), departments, weekdays,
months and the imperative verbs that open tasks ("Deploy to staging") are never names. When
the tasks plugin lists known assignees, the weak contexts (trailing, "for X", "X to") accept
only those names, and a listed name is returned in its listed spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from boss_ai.dates import month_names, weekday_names
from boss_ai.priority import PRIORITY_WORDS

__all__ = ("AssigneeHit", "People")

# Words that stand where a name could but are labels, groups, pronouns or departments.
_NOT_NAME_WORDS = """
    todo fyi re fw fwd note notes reminder bug bugs fix feature task idea question chore
    docs doc hotfix security release meeting followup update test tests please pls plz today
    tomorrow tonight deadline priority prio owner assignee ps cc hi hey hello thanks thx ok
    okay team everyone everybody all someone somebody anyone anybody nobody we i you they he
    she it this that these those who what why how when where which there here ops devops
    infra ui api ux qa it hr finance legal marketing sales support engineering design
    product management customers production prod staging backend frontend mobile data
    platform backup backups heads asap action blocker context background update status
    summary also and or but p0 p1 p2 p3 eod cob eow eom next new the a an no not
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split()) | PRIORITY_WORDS

# Imperative verbs that open a task and are followed by "to" or ","; never names.
_VERB_WORDS = """
    add apply archive ask assign audit backfill benchmark book build bump call cancel change
    check clean close collect configure confirm connect consolidate contact convert
    coordinate copy create debug decommission delete deploy deprecate design disable
    disconnect document double downgrade download draft drop edit email enable ensure
    escalate estimate evaluate explain export extend file fill finalise finalize find finish
    fix follow forward get go handle hire implement import improve inform install
    investigate invite kick kill label launch link listen lock log look make mark measure
    merge migrate monitor move notify onboard open order organise organize pair patch pause
    pick pin ping plan point port post prepare present profile promote provision prune
    publish purge push reach rebase reboot rebuild record redirect reduce refactor refresh
    reindex release remind remove rename renew repair replace reply report reproduce request
    rerun reset resolve respond restart restore resume retry return revert review rewrite
    roll rotate run scale scan schedule search secure send set setup share ship shut sign
    simplify sort speak split start stop store submit sunset support swap switch sync tag
    take talk tell test tidy track train transfer translate triage trigger try turn unblock
    uninstall unlock update upgrade upload validate verify wrap write
"""
_VERBS = frozenset(_VERB_WORDS.split())

# Verbs that are seldom nouns: "Viktor restart the replicas" names Viktor, while in
# "Sprint review tomorrow" the second word is a noun and "Sprint" no person.
_CLEAR_VERB_WORDS = """
    add apply archive book bump cancel clean configure confirm contact create debug
    decommission delete deploy deprecate disable document downgrade enable ensure escalate
    evaluate explain finalise finalize implement improve inform install investigate kill look
    make migrate move notify onboard organise organize prepare provision prune publish purge
    push reboot rebase rebuild reduce refactor refresh reindex remove rename renew repair
    replace reply reproduce rerun resolve restart restore retry revert rotate send ship shut
    simplify submit sunset switch tidy triage unblock uninstall upgrade validate verify write
"""
_CLEAR_VERBS = frozenset(_CLEAR_VERB_WORDS.split())

_NAME = r"[A-Z][a-z\u00e0-\u00ff]+(?:[-'][A-Z]?[a-z\u00e0-\u00ff]+)?"
_HANDLE = r"@(?P<handle>[A-Za-z][\w.-]*\w|[A-Za-z])"
_ANY = rf"(?:{_HANDLE}|@?(?P<name>{_NAME}))"
_LOWER = r"(?P<lower>[a-z][a-z'-]+)"
_START = r"^[^\w@<`\[({\"']*(?:(?i:hey|hi|hello|ok|okay|so|and|also)\b[^\w@]*)?"
_CLAUSE = r"(?:^[^\w@]*|[:;\u2014\u2013]\s+|\s-\s+|,\s+(?i:but\s+|and\s+|so\s+)?)"
_MODAL = (
    r"(?:should|must|will|can|could|would|needs?\s+to|has\s+to|have\s+to|is\s+to|is\s+on"
    r"|owns|handles|leads|drives|takes|is\s+(?:owning|handling|leading|taking)|to|please|pls|plz)"
)

_STRONG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("owner", re.compile(rf"\b(?i:owner|assignee|assigned|who)\s*:\s*{_ANY}\b\.?")),
    (
        "reminder_for",
        re.compile(
            rf"\b(?i:reminder|note|task|todo|action(?:\s+item)?|job)\s+(?i:for)\s+{_ANY}\s*:\s*"
        ),
    ),
    (
        "assign",
        re.compile(
            rf"\b(?i:assign(?:ed)?\s+(?:it\s+|this\s+)?to)\s*:?\s+{_ANY}(?:\s*[:,\u2014\u2013-]+)?\s*"
        ),
    ),
    ("assign_x_to", re.compile(rf"\b(?i:assign)\s+{_ANY}\s+to\s+")),
    (
        "ask",
        re.compile(
            rf"{_CLAUSE}(?i:(?:please\s+)?(?:(?:can|could)\s+you\s+)?(?:let'?s\s+)?"
            rf"(?:ask|have|get|tell|can|could|would|will|(?:i\s+|we\s+)?(?:need|want)"
            rf"|(?:i'?d|we'?d)\s+like))\s+{_ANY}"
            rf"(?:\s+(?:and|&)\s+@?(?P<second>{_NAME}))?\s+(?:to\s+)?(?=[a-z])"
        ),
    ),
    (
        "leading",
        re.compile(
            rf"{_START}(?:{_HANDLE}|@?(?P<name>{_NAME}(?:\s{_NAME}(?=\s*:))?)|{_LOWER})"
            rf"(?:\s*(?:and|&)\s+@?(?P<second>{_NAME}|[a-z][\w.-]+))?"
            r"\s*(?::+|,(?![^,]{1,30}?(?:,|\band\b|\bor\b|&))|\s[\u2014\u2013-])\s*"
        ),
    ),
    (
        "modal",
        re.compile(
            rf"{_CLAUSE}{_ANY},?\s+{_MODAL}\b(?!\s+(?:be|been|all|also\s+be)\b)"
            r"(?:\s+you)?(?:\s+please)?\s*"
        ),
    ),
    ("mention", re.compile(rf"(?:\b(?i:cc|for|to)\s+)?{_HANDLE}\b[:,]?")),
)
_WEAK: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("paren", re.compile(rf"\s*\(\s*@?(?P<name>{_NAME})\s*\)")),
    (
        "trailing",
        re.compile(rf"\s*(?:[,\u2014\u2013]|\s-)\s*@?(?P<name>{_NAME})[\s.,;!\u2014\u2013-]*$"),
    ),
    # "Emergency: Priya restore the table", ", Jamal investigate now": a name after a clause
    # separator, then a lowercase verb
    ("clause", re.compile(rf"(?:[:;,\u2014\u2013]|\s-)\s+@?(?P<name>{_NAME})\s+(?=[a-z]+\b)")),
    (
        "initial",
        re.compile(rf"^[^\w@]*@?(?P<name>{_NAME})\s+(?=(?:{'|'.join(sorted(_CLEAR_VERBS))})\s)"),
    ),
    # "for X" only where X ends the clause ("setup for Jonas by Monday", "invoices for Sofia,")
    ("for", re.compile(rf"\bfor\s+@?(?P<name>{_NAME})(?=\s*(?:$|[,.;!?)\u2014\u2013]|\s-\s))")),
)


@dataclass(frozen=True)
class AssigneeHit:
    """The assignee, the span of the phrase that named them, and a second person if any."""

    name: str
    start: int
    end: int
    second: str | None = None


class People:
    """Finds assignees; ``known`` (from the tasks settings) narrows the weak contexts."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.known = {name.lower(): name for name in known if name}

    def _person(self, word: str, *, lowercase: bool = False, weak: bool = False) -> str | None:
        lowered = word.lower()
        if " " in word:  # "Ana Silva": every part must be a name
            parts = [self._person(part, weak=weak) for part in word.split()]
            return word if all(parts) else None
        if lowered in self.known:
            return self.known[lowered]
        if weak and self.known:
            return None
        if (
            lowered in _NOT_NAMES
            or lowered in _VERBS
            or lowered in month_names()
            or lowered in weekday_names()
        ):
            return None
        if lowercase and len(word) < 2:
            return None
        return word

    def _accept(self, kind: str, match: re.Match[str]) -> str | None:
        groups = match.groupdict()
        if groups.get("handle"):
            handle = str(groups["handle"])
            return self.known.get(handle.lower(), handle)
        if groups.get("lower"):
            return self._person(str(groups["lower"]), lowercase=True)
        name = groups.get("name")
        if not name:
            return None
        return self._person(
            str(name), weak=kind in ("paren", "trailing", "clause", "initial", "for")
        )

    def find(self, text: str, sentences: list[tuple[int, int]]) -> AssigneeHit | None:
        """The assignee in ``text``: strong contexts in every sentence first, then weak ones."""
        for patterns in (_STRONG, _WEAK):
            for kind, pattern in patterns:
                for start, end in sentences:
                    sentence = text[start:end]
                    for match in pattern.finditer(sentence):
                        if kind == "leading" and match.start() != 0:
                            break
                        name = self._accept(kind, match)
                        if name is None:
                            continue
                        if (
                            kind == "leading"
                            and match.group("lower")
                            and not (":" in match.group(0) or name in self.known.values())
                        ):
                            continue  # "deploy, then …" is no person; "erin: …" is
                        second = match.groupdict().get("second")
                        if second and self._person(second) is None:
                            second = None
                        span_start = start + match.start()
                        if kind == "clause":
                            span_start = start + match.start("name")
                        if kind in ("ask", "modal") and match.group(0)[:1] in ":;,-\u2014\u2013":
                            # keep the clause separator in the text ("RE: Q4 planning — …")
                            prefix = re.match(_CLAUSE, match.group(0))
                            span_start += len(prefix.group(0)) if prefix else 0
                        return AssigneeHit(name, span_start, start + match.end(), second)
        return None
