"""How a provider fails, and which HTTP status each failure becomes."""

from __future__ import annotations

from typing import Literal

__all__ = ("FailureKind", "ProviderError")

FailureKind = Literal["bad_answer", "unavailable", "timeout"]

_STATUS: dict[str, int] = {"bad_answer": 502, "unavailable": 503, "timeout": 504}


class ProviderError(Exception):
    """The provider could not produce a valid draft; ``kind`` says why, ``detail`` says how.

    ``detail`` is shown to the API client: it never contains keys, prompts or raw answers.
    """

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail

    @property
    def status_code(self) -> int:
        """502 for a bad answer, 503 when unavailable or rate limited, 504 on timeout."""
        return _STATUS[self.kind]
