"""Named test steps: a failure inside says which step failed and shows the servers' logs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ("StepFailed", "step")


class StepFailed(AssertionError):
    """A step of the end-to-end test failed; the message starts with the step's name."""


@contextmanager
def step(name: str, *context: Callable[[], str]) -> Iterator[None]:
    """Run a block as step ``name``; on failure re-raise with the name and ``context()`` texts."""
    __tracebackhide__ = True
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:
        details = "\n\n".join(describe() for describe in context)
        message = f"step {name!r} failed: {type(exc).__name__}: {exc}"
        if details:
            message += f"\n\n{details}"
        raise StepFailed(message) from exc
