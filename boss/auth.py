"""API keys: ``Authorization: Bearer <key>`` on everything under ``/api/``, with two roles.

Keys come from ``BOSS_API_KEYS`` / ``BOSS_API_KEYS_FILE`` or, when none is configured, from
a key that the first ``boss serve`` generates in the data directory. Keys are compared in
constant time (every configured key is checked, digests are compared) and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import msgspec
from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Receive, Scope, Send

from boss.settings import Settings, SettingsError

__all__ = (
    "GENERATED_KEYS_FILE",
    "ROLES",
    "ApiKey",
    "ApiKeyMiddleware",
    "KeyRing",
    "ensure_generated_key",
    "load_keyring",
    "parse_key_entry",
    "require_admin",
    "whoami",
)

ROLES = ("admin", "member")
Role = Literal["admin", "member"]
GENERATED_KEYS_FILE = "api-keys"
API_PREFIX = "/api/"


class ApiKey(msgspec.Struct, frozen=True):
    """Who called: the key's name (for the audit trail) and its role."""

    name: str
    role: Role


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def parse_key_entry(entry: str, *, origin: str) -> tuple[ApiKey, str]:
    """Parse ``role:key`` or ``name:role:key``; ``origin`` names the variable or file:line.

    A ``role:key`` entry is named ``<role>-<first 8 hex digits of the key's SHA-256>``.
    """
    parts = entry.strip().split(":")
    if len(parts) == 2:
        role, key = parts
        # Unnamed keys get a name of their own (role plus a short digest of the key), so
        # audit entries and rate-limit buckets tell two keys of one role apart.
        name = f"{role}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    elif len(parts) == 3:
        name, role, key = parts
    else:
        raise SettingsError(
            f"{origin}: expected 'role:key' or 'name:role:key', got {len(parts)} fields"
        )
    if role not in ROLES:
        raise SettingsError(
            f"{origin}: unknown role {role!r} (expected one of: {', '.join(ROLES)})"
        )
    if len(key) < 16:
        raise SettingsError(f"{origin}: key for {role!r} is shorter than 16 characters")
    if not name:
        raise SettingsError(f"{origin}: empty key name")
    return ApiKey(name=name, role=role), key  # type: ignore[arg-type]


class KeyRing:
    """The configured keys, stored as SHA-256 digests."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[tuple[ApiKey, str]] = ()) -> None:
        self._entries = [(identity, _digest(key)) for identity, key in entries]

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str) -> ApiKey | None:
        """The identity of ``presented``, checking every key so timing reveals nothing."""
        digest = _digest(presented)
        found: ApiKey | None = None
        for identity, candidate in self._entries:
            if hmac.compare_digest(digest, candidate):
                found = identity
        return found


def _file_entries(path: Path, variable: str) -> list[tuple[ApiKey, str]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    out = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            out.append(parse_key_entry(text, origin=f"{path}:{number}"))
    return out


def load_keyring(settings: Settings) -> KeyRing:
    """Every key from the settings, the keys file and the generated key file."""
    entries = [
        parse_key_entry(entry, origin=f"BOSS_API_KEYS (entry {index})")
        for index, entry in enumerate(settings.api_keys, start=1)
    ]
    if settings.api_keys_file:
        entries += _file_entries(Path(settings.api_keys_file), "BOSS_API_KEYS_FILE")
    generated = settings.data_path / GENERATED_KEYS_FILE
    if not entries and generated.exists():
        entries += _file_entries(generated, str(generated))
    return KeyRing(entries)


def ensure_generated_key(settings: Settings) -> str | None:
    """Create an admin key in the data directory when no key is configured anywhere.

    Returns the new key (to print once) or ``None`` when keys already exist.
    """
    if settings.api_keys or settings.api_keys_file:
        return None
    path = settings.data_path / GENERATED_KEYS_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# generated by boss serve; one name:role:key entry per line\n")
        handle.write(f"admin:admin:{key}\n")
    return key


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    """Authenticate requests under ``/api/`` by bearer key; others pass untouched."""

    keyring: KeyRing = KeyRing()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Skip everything outside ``/api/`` before Litestar builds a connection object."""
        if not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Return the caller's ``ApiKey`` or raise 401 (only called for ``/api/`` paths)."""
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "Missing API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="boss"'},
            )
        identity = self.keyring.identify(token.strip())
        if identity is None:
            raise NotAuthorizedException(
                "Invalid API key",
                headers={"WWW-Authenticate": 'Bearer realm="boss", error="invalid_token"'},
            )
        return AuthenticationResult(user=identity, auth=identity)


def middleware_for(keyring: KeyRing) -> type[ApiKeyMiddleware]:
    """A middleware class bound to ``keyring`` (one per app, so two apps never share keys)."""
    return type("BoundApiKeyMiddleware", (ApiKeyMiddleware,), {"keyring": keyring})


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only ``admin`` keys may pass (403 otherwise)."""
    user = connection.scope.get("user")
    if not isinstance(user, ApiKey) or user.role != "admin":
        raise PermissionDeniedException("This operation needs an admin API key")


@get("/api/whoami", tags=["auth"], sync_to_thread=False, operation_id="whoami")
def whoami(request: Request[ApiKey, ApiKey, Any]) -> ApiKey:
    """The name and role of the key that made this request (to check a key works)."""
    return request.user
