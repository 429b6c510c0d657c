"""Strict request checking that reports every problem at once, before Litestar parses.

Litestar converts bodies leniently (an integer becomes a date-time, ``"5"`` an integer),
stops at the first invalid body field, ignores unknown query parameters, keeps the last of
repeated ones and reads JSON whatever the ``Content-Type``. ``strict_request`` is a
``before_request`` hook that refuses all of that with one problem naming every field:
415 for a body that is not declared JSON, 400 with ``errors[]`` for the rest.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter

from boss.errors import Problem

__all__ = (
    "BODY_TYPE_OPT",
    "FieldChecks",
    "control_character",
    "json_media_type",
    "raise_errors",
    "strict_request",
    "validate_struct",
)

T = TypeVar("T", bound=msgspec.Struct)
FieldChecks = Mapping[str, Callable[[Any], str | None]]
"""Per-field extra checks run on a converted value: a message when invalid, else ``None``."""
BODY_TYPE_OPT = "strict_body"
"""Route handler ``opt`` key: the msgspec Struct type its JSON body must match."""
BODY_CHECKS_OPT = "strict_body_checks"
"""Route handler ``opt`` key: ``FieldChecks`` for that body."""
ALLOWED_WHITESPACE = frozenset("\t\n\r")
_json_decoder = msgspec.json.Decoder()


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """A message if ``value`` holds a control character (tab and newlines allowed if multiline)."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") and not (
            multiline and char in ALLOWED_WHITESPACE
        ):
            return f"must not contain control characters (found U+{ord(char):04X})"
    return None


def json_media_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` header value declares JSON (``application/json``, ``*+json``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _error(field: str, source: str, message: str) -> dict[str, str]:
    return {"field": field, "source": source, "message": message}


def _clean_message(exc: msgspec.ValidationError) -> str:
    return str(exc).split(" - at `", 1)[0]


def validate_struct(
    raw: Any, struct_type: type[T], *, checks: FieldChecks | None = None, source: str = "body"
) -> tuple[T | None, list[dict[str, str]]]:
    """Convert a decoded JSON object to ``struct_type``, collecting an error for every field.

    Unknown fields, missing required ones, wrong types and constraint violations (strict:
    no coercion) are all reported; every string is checked for control characters unless a
    field check says otherwise. Returns the struct when nothing is wrong.
    """
    if not isinstance(raw, dict):
        return None, [_error("body", source, "must be a JSON object")]
    errors: list[dict[str, str]] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct_type)}
    for name in raw:
        if name not in fields:
            errors.append(_error(name, source, "unknown field"))
    checks = checks or {}
    for name, field in fields.items():
        if name not in raw:
            if field.required:
                errors.append(_error(name, source, "required"))
            continue
        try:
            value = msgspec.convert(raw[name], type=field.type, strict=True)
        except msgspec.ValidationError as exc:
            errors.append(_error(name, source, _clean_message(exc)))
            continue
        check = checks.get(name)
        message = check(value) if check is not None else None
        if check is None and isinstance(value, str):
            message = control_character(value)
        if message:
            errors.append(_error(name, source, message))
    if errors:
        return None, errors
    return msgspec.convert(raw, type=struct_type, strict=True), []


def raise_errors(errors: list[dict[str, str]]) -> None:
    """Raise one 400 validation problem listing every error (no-op when there are none)."""
    if errors:
        named = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ValidationException(f"Validation failed for {named}", extra=errors)


def _datetime_problem(value: Any, raw: list[str]) -> str | None:
    values = value if isinstance(value, list) else [value]
    for item, text in zip(values, raw, strict=False):
        if isinstance(item, datetime):
            try:  # Litestar would also read a number as a Unix time: RFC 3339 only
                msgspec.convert(text, type=datetime, strict=True)
            except msgspec.ValidationError:
                return "must be an RFC 3339 date-time, e.g. 2030-01-31T17:00:00Z"
            if item.tzinfo is None:
                return "must be an RFC 3339 date-time with a UTC offset"
            try:
                item.astimezone(UTC)
            except OverflowError:
                return "is outside the range of dates that can be stored (years 1-9999 in UTC)"
    return None


def _query_errors(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """Unknown, repeated, control characters, and each declared parameter's own conversion.

    The conversion is Litestar's (lenient, per parameter) so that every parameter's error is
    reported here at once instead of the first body or query error only.
    """
    handler = request.route_handler
    parameters = handler.parsed_fn_signature.parameters
    types = {f.name: f.type for f in msgspec.structs.fields(handler.signature_model)}
    errors: list[dict[str, str]] = []
    for name in dict.fromkeys(request.query_params.keys()):
        values = request.query_params.getall(name)
        definition = parameters.get(name)
        if definition is None or name in ("data", "request", "headers", "state"):
            errors.append(_error(name, "query", "unknown query parameter"))
            continue
        sequence = definition.is_non_string_sequence
        if len(values) > 1 and not sequence:
            errors.append(_error(name, "query", "given more than once; send it once"))
            continue
        message = next(filter(None, (control_character(v) for v in values)), None)
        if message is None and name in types:
            try:
                converted = msgspec.convert(
                    values if sequence else values[0], type=types[name], strict=False
                )
            except msgspec.ValidationError as exc:
                message = _clean_message(exc)
            else:
                # Litestar reads ``null`` (or nothing) as None for an optional parameter;
                # a parameter that is present must carry a value.
                empty = converted is None or (sequence and None in converted)
                message = "must have a value" if empty else _datetime_problem(converted, values)
        if message:
            errors.append(_error(name, "query", message))
    return errors


def _header_errors(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """Declared header parameters (``HeaderParameter``), named by their header."""
    handler = request.route_handler
    types = {f.name: f.type for f in msgspec.structs.fields(handler.signature_model)}
    errors: list[dict[str, str]] = []
    for name, definition in handler.parsed_fn_signature.parameters.items():
        kwarg = definition.kwarg_definition
        if not isinstance(kwarg, HeaderParameter) or kwarg.name is None:
            continue
        header = kwarg.name
        value = request.headers.get(header)
        if value is None or name not in types:
            continue
        try:
            msgspec.convert(value, type=types[name], strict=False)
        except msgspec.ValidationError as exc:
            errors.append(_error(header, "header", _clean_message(exc)))
    return errors


async def strict_request(
    request: Request[Any, Any, Any], errors: list[dict[str, str]] | None = None
) -> None:
    """``before_request`` hook: 415 for a non-JSON body, 400 naming every bad field at once.

    Checks the query string (unknown, repeated or control characters) on every handler and,
    when the handler's ``opt`` names a body type (``BODY_TYPE_OPT``), the JSON body. The
    struct it validated is left in ``request.state["body"]``. ``errors`` found by the caller
    (path parameters, headers) are reported together with these.
    """
    handler = request.route_handler
    errors = [*(errors or ()), *_query_errors(request), *_header_errors(request)]
    body_type = handler.opt.get(BODY_TYPE_OPT)
    if body_type is not None:
        content_type = request.headers.get("content-type", "")
        if not json_media_type(content_type):
            raise Problem(
                415,
                f"the body must be JSON (Content-Type: application/json), not "
                f"{content_type or 'undeclared'!r}",
                kind="unsupported-media-type",
            )
        raw_body = await request.body()
        try:
            decoded = _json_decoder.decode(raw_body)
        except msgspec.DecodeError as exc:
            errors.append(_error("body", "body", f"not valid JSON: {exc}"))
        else:
            checks: FieldChecks | None = handler.opt.get(BODY_CHECKS_OPT)
            parsed, body_errors = validate_struct(decoded, body_type, checks=checks)
            errors.extend(body_errors)
            if parsed is not None:
                request.state["body"] = parsed
    raise_errors(errors)
