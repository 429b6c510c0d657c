"""The core's settings, read from ``BOSS_*`` environment variables.

Each plugin may add its own section (``BOSS_<PLUGIN>__*``) through ``BossPlugin.settings_type``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from boss._env import SettingsError, load_struct, redacted

__all__ = (
    "DatabaseSettings",
    "MetricsSettings",
    "PluginsSettings",
    "RateLimitSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "load_settings",
)

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
DatabaseUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^$|^(sqlite\+aiosqlite|postgresql\+asyncpg)://",
        description="sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    ),
]
RedisUrl = Annotated[str, msgspec.Meta(pattern=r"^$|^(redis|rediss|unix)://")]
RateLimitGroup = Annotated[
    str, msgspec.Meta(pattern=r"^/[^=\s]*=[1-9][0-9]*$", description="/prefix=requests")
]


class DatabaseSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the database lives and how the connection pool behaves."""

    url: DatabaseUrl = ""
    """Empty means an SQLite file ``boss.db`` in the data directory."""
    pool_size: PositiveInt = 5
    max_overflow: NonNegativeInt = 10
    pool_timeout: PositiveFloat = 30.0
    """Seconds to wait for a pooled connection before failing the request."""
    pool_recycle: int = 1800
    echo: bool = False


class RedisSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The shared Redis; empty ``url`` means in-process stores (single process only)."""

    url: RedisUrl = ""
    socket_timeout: PositiveFloat = 0.5
    """Seconds before a Redis call counts as failed: keep small so a dead Redis costs little."""


class MetricsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The Prometheus endpoint and HTTP instrumentation."""

    enabled: bool = True
    """False removes the HTTP instrumentation and ``/metrics`` entirely."""
    token: str = ""
    """Bearer token required on ``/metrics`` when set."""
    path: Annotated[str, msgspec.Meta(pattern=r"^/")] = "/metrics"


class PluginsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which installed plugins run: all but ``disabled`` (``core`` cannot be disabled)."""

    disabled: tuple[str, ...] = ()


class RateLimitSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Request limits per API key (or client address), shared through Redis when configured."""

    enabled: bool = True
    requests: PositiveInt = 600
    """Requests allowed per window for one client and route group."""
    window: PositiveInt = 60
    """Window length in seconds."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.0/8``) whose ``X-Forwarded-For`` is believed."""
    groups: tuple[RateLimitGroup, ...] = ()
    """Per route-group limits as ``/prefix=requests`` (``/api/ai=30``); longest prefix wins.

    Other paths are grouped by their first two route segments (``/api/tasks``) and get
    ``requests`` each."""
    redis_prefix: str = "boss:ratelimit:"
    """Key prefix of the shared counters in Redis."""

    def __post_init__(self) -> None:
        """Reject a trusted proxy that is no address or network when the settings load."""
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"BOSS_RATE_LIMIT__TRUSTED_PROXIES has {entry!r}, not an IP address or network"
                ) from None


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Defaults for ``boss serve``."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    workers: PositiveInt = 1


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every core setting; ``load_settings`` fills it from the environment."""

    data_dir: str = "./data"
    """Holds the embedded SQLite database and the generated API key."""
    api_keys: tuple[str, ...] = ()
    """``role:key`` or ``name:role:key`` entries; roles are ``admin`` and ``member``."""
    api_keys_file: str = ""
    """A file with one ``role:key`` or ``name:role:key`` entry per line."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    environment: str = "production"
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    plugins: PluginsSettings = msgspec.field(default_factory=PluginsSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    """The environment the settings were read from; plugins read their sections from it."""

    @property
    def data_path(self) -> Path:
        """The data directory as a path."""
        return Path(self.data_dir)

    @property
    def database_url(self) -> str:
        """The effective database URL (the embedded SQLite file when none is set)."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_path / 'boss.db').resolve()}"

    def section(self, plugin_name: str, struct_type: type[Any]) -> Any:
        """Read the plugin's ``BOSS_<NAME>__*`` section into ``struct_type``."""
        return load_struct(struct_type, f"BOSS_{plugin_name.upper()}__", self.environ)

    def redacted(self) -> dict[str, Any]:
        """Builtins form with every secret replaced, for ``boss config show`` and logs."""
        raw = msgspec.to_builtins(self)
        raw.pop("environ", None)
        result: dict[str, Any] = redacted(raw)
        result["database"]["url"] = redacted(self.database_url, key="database.url")
        return result


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``Settings`` from ``environ`` (default ``os.environ``); raises ``SettingsError``."""
    env = dict(os.environ if environ is None else environ)
    settings = load_struct(Settings, "BOSS_", {k: v for k, v in env.items() if k != "BOSS_ENVIRON"})
    settings.environ = env
    return settings
