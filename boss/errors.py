"""RFC 9457 problem-details answers for every 4xx and 5xx, never a traceback to the client.

Every answer carries a ``type`` naming its kind of problem: ``/problems/<kind>``, a relative
reference that the server itself resolves (``GET /problems/<kind>`` explains the kind), and
that ``docs/problems.md`` documents under the heading ``<kind>``.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import FromPath

if TYPE_CHECKING:
    from litestar.handlers import HTTPRouteHandler
    from prometheus_client import Counter

__all__ = (
    "PROBLEM_JSON",
    "PROBLEM_KINDS",
    "FieldError",
    "Problem",
    "ProblemBody",
    "ProblemHandlers",
    "ProblemKind",
    "kind_for_status",
    "problem_page_handler",
    "problem_response",
    "problem_type",
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "/problems/"
_NAMED_FIELD_RE = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
logger = logging.getLogger("boss.errors")


class ProblemKind(msgspec.Struct, frozen=True):
    """One kind of problem: its usual status, a title and what a client should do about it."""

    status: int
    title: str
    advice: str
    headers: tuple[str, ...] = ()
    """Response headers answers of this kind carry (documented in OpenAPI and the docs)."""


PROBLEM_KINDS: dict[str, ProblemKind] = {
    "validation": ProblemKind(
        400,
        "Validation failed",
        "The request is malformed or a value is invalid. `errors[]` names every field "
        "(`field`, `source`: body, query, path or header, `message`). Fix them all and retry.",
    ),
    "unauthorized": ProblemKind(
        401, "Unauthorized", "Send `Authorization: Bearer <key>` with a valid API key."
    ),
    "forbidden": ProblemKind(
        403, "Forbidden", "Your key's role may not do this; use a key with the `admin` role."
    ),
    "not-found": ProblemKind(
        404, "Not Found", "Nothing exists at this path, or the resource was deleted."
    ),
    "method-not-allowed": ProblemKind(
        405, "Method Not Allowed", "The path exists but not for this method; see `Allow`."
    ),
    "version-conflict": ProblemKind(
        409,
        "Version conflict",
        "The body's `version` is stale: someone changed the resource first. The answer "
        "carries `current_version` and the current `ETag`; reload and apply your change again.",
    ),
    "invalid-transition": ProblemKind(
        409,
        "Transition not allowed",
        "The state machine does not allow this status change; `current_status` and "
        "`allowed` say where the task can go.",
    ),
    "idempotency-in-progress": ProblemKind(
        409,
        "Request with this Idempotency-Key in progress",
        "A request with the same `Idempotency-Key` is still running; retry after a moment "
        "to receive its answer.",
    ),
    "not-configured": ProblemKind(
        409,
        "Not configured",
        "The feature needs a setting that is not set; `setting` names the environment "
        "variable to set. A configuration state, not a server error.",
    ),
    "precondition-failed": ProblemKind(
        412,
        "Precondition Failed",
        "`If-Match` names a version that is no longer current. The answer carries the current "
        "`ETag`; reload and apply your change again.",
    ),
    "payload-too-large": ProblemKind(
        413, "Content Too Large", "The request body is larger than the server accepts (1 MiB)."
    ),
    "unsupported-media-type": ProblemKind(
        415,
        "Unsupported Media Type",
        "Send the body as JSON with `Content-Type: application/json`.",
    ),
    "idempotency-key-reused": ProblemKind(
        422,
        "Idempotency-Key reused",
        "This `Idempotency-Key` was used within 24 hours for a request with a different body. "
        "Use a new key for a new request.",
    ),
    "precondition-required": ProblemKind(
        428,
        "Precondition Required",
        'A change needs the version you last saw: send `If-Match: "<version>"` (the `ETag`) '
        "or the body field `version`.",
    ),
    "rate-limited": ProblemKind(
        429,
        "Too Many Requests",
        "Slow down: retry after `Retry-After` seconds. `RateLimit-Limit`, "
        "`RateLimit-Remaining` and `RateLimit-Reset` describe your budget.",
        headers=("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"),
    ),
    "internal": ProblemKind(
        500, "Internal Server Error", "A bug: the server logged it. Retrying may not help."
    ),
    "bad-gateway": ProblemKind(
        502, "Bad Gateway", "A service boss depends on answered badly; retry later."
    ),
    "unavailable": ProblemKind(
        503,
        "Service Unavailable",
        "A dependency (such as the AI provider) is unavailable; retry after `Retry-After` if sent.",
    ),
    "database-unavailable": ProblemKind(
        503,
        "Database unavailable",
        "The database connection was lost, or the database cannot be reached or has no free "
        "connection. Nothing was half-written: a transaction is all or nothing. Retry after "
        "`Retry-After` seconds; repeat a create with the same `Idempotency-Key` so that it "
        "cannot create twice.",
        headers=("Retry-After",),
    ),
    "gateway-timeout": ProblemKind(
        504, "Gateway Timeout", "A service boss depends on did not answer in time; retry later."
    ),
    "http-error": ProblemKind(
        400, "HTTP error", "Any other HTTP error; `status` and `detail` say what happened."
    ),
}
"""Every kind of problem boss answers with; ``docs/problems.md`` has a section for each."""

_KIND_BY_STATUS: dict[int, str] = {
    400: "validation",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "version-conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "rate-limited",
    500: "internal",
    502: "bad-gateway",
    503: "unavailable",
    504: "gateway-timeout",
}


def kind_for_status(status: int) -> str:
    """The kind a problem of ``status`` has when nobody named a more precise one."""
    return _KIND_BY_STATUS.get(status, "http-error")


def problem_type(kind: str) -> str:
    """The ``type`` URI of ``kind`` (``/problems/<kind>``)."""
    if kind not in PROBLEM_KINDS:
        raise KeyError(f"unknown problem kind {kind!r}")
    return PROBLEM_TYPE_PREFIX + kind


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid value: which field, where it came from and what is wrong with it."""

    field: str
    source: str
    """``body``, ``query``, ``path`` or ``header``."""
    message: str


class ProblemBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The problem-details document (RFC 9457) every error answer carries."""

    type: str
    """``/problems/<kind>``: documented in docs/problems.md and served by ``GET`` itself."""
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    """Validation problems: every invalid field at once."""


class Problem(HTTPException):
    """An HTTP error of a named ``kind`` (see ``PROBLEM_KINDS``); extra keys join the body."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        kind: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, extra=extra, headers=headers)
        self.kind = kind or kind_for_status(status_code)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    """A problem-details response whose ``type`` names ``kind`` (by default from the status)."""
    kind = kind or kind_for_status(status)
    known = PROBLEM_KINDS.get(kind)
    body: dict[str, Any] = {
        "type": problem_type(kind) if known else "about:blank",
        "title": known.title if known and kind != "http-error" else _title(status),
        "status": status,
    }
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
                field = str(item.get("key") or item.get("field") or "")
                message = str(item.get("message") or "")
                missing = _NAMED_FIELD_RE.search(message)
                if missing:
                    # Litestar names the enclosing object ("data"); name the field itself.
                    parent = "" if field in ("", "data") else field.removeprefix("data.")
                    field = f"{parent}.{missing.group(1)}" if parent else missing.group(1)
                raw_source = item.get("source") or "body"
                # Litestar's signature model names parameters' sources by ``ParamType``.
                source = str(getattr(raw_source, "value", raw_source))
                if source == "header" and "_" in field:
                    # Litestar names the handler's parameter (if_match); name the header.
                    field = "-".join(part.capitalize() for part in field.split("_"))
                errors.append({"field": field, "source": source, "message": message})
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
        kind = exc.kind if isinstance(exc, Problem) else None
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
        return problem_response(status, detail, kind=kind, extra=extra, headers=exc.headers)

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


def problem_page_handler() -> HTTPRouteHandler:
    """``GET /problems/{kind}``: what a problem ``type`` means (so every ``type`` resolves)."""

    @get(
        "/problems/{kind:str}",
        media_type="text/markdown; charset=utf-8",
        include_in_schema=False,
        sync_to_thread=False,
    )
    def problem_page(kind: FromPath[str]) -> str:
        found = PROBLEM_KINDS.get(kind)
        if found is None:
            raise NotFoundException(f"no problem type {kind!r}; see docs/problems.md")
        page = f"# {found.title} ({kind})\n\nUsual status: {found.status}\n\n{found.advice}\n"
        if found.headers:
            page += f"\nHeaders: {', '.join(found.headers)}\n"
        return page

    return problem_page
