"""Free TCP ports on 127.0.0.1 and waiting for HTTP readiness."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

__all__ = ("WaitTimeout", "free_port", "wait_for", "wait_http_ok")

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A polled condition did not hold in time; the message names what was awaited."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.2,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something other than ``None`` (or falsy ``False``).

    Exceptions from ``probe`` count as "not yet" (except ``WaitTimeout``, which gives up at
    once); the last one is reported on timeout, with
    ``detail()`` (e.g. a server's log tail) appended so the failure explains itself.
    """
    deadline = time.monotonic() + timeout
    last: str = "never probed"
    while True:
        try:
            result = probe()
        except WaitTimeout:
            raise  # the probe knows it is hopeless (e.g. the server died): stop at once
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if result is not None and result is not False:
                return result
            last = f"probe returned {result!r}"
        if time.monotonic() >= deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise WaitTimeout(
                f"timed out after {timeout:g} s waiting for {what}; last: {last}{extra}"
            )
        time.sleep(interval)


def wait_http_ok(
    url: str,
    *,
    timeout: float,
    detail: Callable[[], str] | None = None,
    alive: Callable[[], bool] | None = None,
) -> int:
    """Wait until ``GET url`` answers 2xx; fail early when ``alive()`` says the server died.

    Returns how many answers (of any status) the server gave, so that a test counting the
    server's requests can account for the polling.
    """
    answered = 0

    def probe() -> bool:
        nonlocal answered
        if alive is not None and not alive():
            raise WaitTimeout(
                f"the server behind {url} exited" + (f"\n{detail()}" if detail else "")
            )
        response = httpx.get(url, timeout=2.0)
        answered += 1
        return response.is_success

    wait_for(f"GET {url} to answer 2xx", probe, timeout=timeout, detail=detail)
    return answered
