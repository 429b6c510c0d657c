"""Read msgspec Structs from ``BOSS_*`` environment variables, with errors that name the variable.

Nested sections are joined by ``__`` (``BOSS_DATABASE__URL``); sequences are comma-separated;
booleans and numbers are converted from their text form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

__all__ = ("SettingsError", "load_struct", "redacted")

T = TypeVar("T")
_PATH_RE = re.compile(r"at `\$(?P<path>[^`]*)`")


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable and the expected form."""


def _nest(prefix: str, environ: Mapping[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(prefix) or key == prefix.rstrip("_"):
            continue
        parts = [part.lower() for part in key[len(prefix) :].split("__")]
        if not all(parts):
            continue
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node = {}
                break
            node = child
        else:
            node.setdefault(parts[-1], value)
    return nested


def _is_sequence(info: msgspec.inspect.Type) -> bool:
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_is_sequence(t) for t in info.types)
    return isinstance(
        info,
        msgspec.inspect.ListType
        | msgspec.inspect.TupleType
        | msgspec.inspect.VarTupleType
        | msgspec.inspect.SetType
        | msgspec.inspect.FrozenSetType,
    )


def _struct_info(info: msgspec.inspect.Type) -> msgspec.inspect.StructType | None:
    if isinstance(info, msgspec.inspect.StructType):
        return info
    if isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            if isinstance(member, msgspec.inspect.StructType):
                return member
    return None


def _split_sequences(raw: dict[str, Any], info: msgspec.inspect.StructType) -> dict[str, Any]:
    fields = {f.encode_name: f for f in info.fields}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            out[key] = value
        elif isinstance(value, str) and _is_sequence(field.type):
            out[key] = [item.strip() for item in value.split(",") if item.strip()]
        elif isinstance(value, dict) and (sub := _struct_info(field.type)) is not None:
            out[key] = _split_sequences(value, sub)
        else:
            out[key] = value
    return out


def _variable_for(prefix: str, path: str) -> str:
    """``$.database.pool_size`` → ``BOSS_DATABASE__POOL_SIZE``; a dict value → ``…__*``."""
    path = path.replace("[...]", ".*")
    parts = [p for p in re.split(r"\.|\[\d+\]", path) if p]
    return prefix + "__".join(part.upper() for part in parts)


def load_struct(struct_type: type[T], prefix: str, environ: Mapping[str, str]) -> T:
    """Build ``struct_type`` from the variables starting with ``prefix`` (e.g. ``BOSS_``)."""
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    known = {f.encode_name for f in info.fields}
    raw = _nest(prefix, environ)
    raw = {k: v for k, v in raw.items() if k in known}
    raw = _split_sequences(raw, info)
    try:
        return msgspec.convert(raw, struct_type, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH_RE.search(message)
        path = match.group("path") if match else ""
        reason = _PATH_RE.sub("", message).strip().rstrip("-").strip()
        variable = _variable_for(prefix, path) if path else prefix + "*"
        value = _lookup(environ, variable)
        shown = f" (got {value!r})" if value is not None and not _is_secret_name(variable) else ""
        hint = _expected_form(info, path)
        raise SettingsError(f"{variable}: {reason}{shown}{hint}") from None


def _expected_form(info: msgspec.inspect.Type, path: str) -> str:
    """Describe what a field accepts: its allowed values or its documented form."""
    node: msgspec.inspect.Type | None = info
    for part in [p for p in re.split(r"\.|\[\d+\]", path) if p]:
        struct = _struct_info(node) if node is not None else None
        if struct is None:
            return ""
        node = next((f.type for f in struct.fields if f.encode_name == part), None)
    if isinstance(node, msgspec.inspect.LiteralType):
        return "; expected one of: " + ", ".join(str(v) for v in node.values)
    if isinstance(node, msgspec.inspect.Metadata) and isinstance(node.extra_json_schema, dict):
        description = node.extra_json_schema.get("description")
        if description:
            return f"; expected {description}"
    return ""


def _lookup(environ: Mapping[str, str], variable: str) -> str | None:
    for key, value in environ.items():
        if key.upper() == variable:
            return value
    return None


_SECRET_WORDS = ("KEY", "TOKEN", "PASSWORD", "SECRET", "WEBHOOK")


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


_URL_PASSWORD_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@]*):[^@/]*@")


def redacted(value: Any, *, key: str = "") -> Any:
    """A copy of builtins-converted settings with every secret replaced by ``'***'``."""
    if isinstance(value, dict):
        return {k: redacted(v, key=str(k) if not key else f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        if _is_secret_name(key):
            return ["***" for _ in value]
        return [redacted(v, key=key) for v in value]
    if isinstance(value, str) and value:
        if any(_is_secret_name(segment) for segment in key.split(".")):
            return "***"
        return _URL_PASSWORD_RE.sub(r"\g<scheme>\g<user>:***@", value)
    return value
