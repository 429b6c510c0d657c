"""Keep webhook URLs (they carry the webhook's secret token) out of every log line.

httpx logs each request's full URL at INFO level; a logging filter on the ``httpx`` and
``httpcore`` loggers masks the token part of any Discord webhook path before the record is
formatted, and ``scrub`` does the same for text boss logs itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ("WebhookRedactingFilter", "install_log_filter", "scrub")

_WEBHOOK_RE = re.compile(r"(/webhooks/)[^/\s?#\"']+(?:/[^/\s?#\"']+)?")
_LOGGERS = ("httpx", "httpcore")


def scrub(text: str) -> str:
    """``text`` with every webhook id and token replaced by ``***``."""
    return _WEBHOOK_RE.sub(r"\g<1>***", text)


def _clean(value: Any) -> Any:
    text = str(value) if not isinstance(value, int | float) else None
    if text is not None and "/webhooks/" in text:
        return scrub(text)
    return value


class WebhookRedactingFilter(logging.Filter):
    """Rewrites log records so that webhook tokens never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask webhook paths in the message and its arguments; never drops a record."""
        if isinstance(record.msg, str) and "/webhooks/" in record.msg:
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(arg) for key, arg in record.args.items()}
        return True


def install_log_filter() -> None:
    """Attach the filter to the httpx loggers once per process (idempotent)."""
    for name in _LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, WebhookRedactingFilter) for f in target.filters):
            target.addFilter(WebhookRedactingFilter())
