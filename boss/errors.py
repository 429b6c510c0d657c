"""RFC 9457 problem-details answers for every 4xx and 5xx, never a traceback to the client."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

if TYPE_CHECKING:
    from prometheus_client import Counter

__all__ = ("PROBLEM_JSON", "ProblemHandlers", "problem_response")

PROBLEM_JSON = "application/problem+json"
_NAMED_FIELD_RE = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
logger = logging.getLogger("boss.errors")


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    """A problem-details response (``type`` is ``about:blank``; ``title`` the status phrase)."""
    body: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                field = str(item.get("key") or "")
                message = str(item.get("message") or "")
                missing = _NAMED_FIELD_RE.search(message)
                if missing:
                    # Litestar names the enclosing object ("data"); name the field itself.
                    parent = "" if field in ("", "data") else field.removeprefix("data.")
                    field = f"{parent}.{missing.group(1)}" if parent else missing.group(1)
                errors.append(
                    {"field": field, "source": item.get("source") or "body", "message": message}
                )
    return errors


class ProblemHandlers:
    """Exception handlers that turn every error into problem JSON and count server errors."""

    __slots__ = ("_errors",)

    def __init__(self, errors: Counter | None = None) -> None:
        self._errors = errors

    def http_exception(self, request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        """Known HTTP errors: keep status, detail and headers; name the fields on validation."""
        status = exc.status_code
        extra: dict[str, Any] = {}
        detail = exc.detail
        if isinstance(exc, ValidationException):
            errors = _validation_errors(exc)
            if errors:
                extra["errors"] = errors
                named = "; ".join(
                    f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
                )
                detail = f"Validation failed for {named}"
        elif isinstance(exc.extra, dict):
            extra.update(exc.extra)
        if status >= 500:
            self._count(type(exc).__name__, "error")
            if status == 500:
                detail = "Internal Server Error"
        return problem_response(status, detail, extra=extra, headers=exc.headers)

    def unhandled(self, request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        """Anything else is a 500 with no internals in the body; the traceback goes to the log."""
        self._count(type(exc).__name__, "critical")
        logger.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            request.scope.get("path_template") or "<unmatched>",
            exc_info=exc,
        )
        return problem_response(500, "Internal Server Error")

    def _count(self, kind: str, severity: str) -> None:
        if self._errors is not None:
            self._errors.labels(kind, severity).inc()

    def mapping(self) -> dict[Any, Any]:
        """The ``exception_handlers`` mapping for Litestar."""
        return {HTTPException: self.http_exception, Exception: self.unhandled}
