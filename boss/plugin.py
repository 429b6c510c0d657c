"""The plugin contract: what every boss plugin, built-in or third-party, is.

A plugin is a Litestar ``InitPlugin`` that also carries declarative observability fragments
(metrics, alerts, recording rules, rule tests, panels, SLOs) and an optional readiness ``ping``.
The core materialises the metric specs and hands the plugin its handles through ``setup``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from litestar.plugins import InitPlugin

from boss._specs import SLO, AlertRule, MetricSpec, Panel, RecordingRule, RuleTest

if TYPE_CHECKING:
    from boss.metrics_registry import MetricHandles
    from boss.settings import Settings

__all__ = ("BossPlugin", "PluginContext", "Services")

T = TypeVar("T")


class Services:
    """A tiny type-keyed registry through which plugins offer services to each other.

    Plugins register implementations of core-defined protocols (``boss.cache.Cache``) in
    ``setup`` and look them up at start-up, so no plugin imports another one by accident.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[type[Any], Any] = {}

    def register(self, kind: type[T], instance: T) -> None:
        """Offer ``instance`` as the implementation of ``kind``."""
        self._items[kind] = instance

    def get(self, kind: type[T]) -> T | None:
        """The registered implementation of ``kind``, or ``None``."""
        found: T | None = self._items.get(kind)
        return found


class PluginContext:
    """What the core hands a plugin before ``on_app_init``: settings, metrics, peers."""

    __slots__ = ("config", "metrics", "plugins", "services", "settings")

    def __init__(
        self,
        *,
        settings: Settings,
        metrics: MetricHandles,
        plugins: Mapping[str, BossPlugin],
        services: Services,
        config: Any = None,
    ) -> None:
        self.settings = settings
        """The core settings."""
        self.config = config
        """The plugin's own settings section (an instance of its ``settings_type``) or ``None``."""
        self.metrics = metrics
        """Handles of this plugin's own metrics, by metric name."""
        self.plugins = plugins
        """Every enabled plugin by name (a plugin may use those it ``requires``)."""
        self.services = services


class BossPlugin(InitPlugin):
    """Base class for boss plugins; subclass it and fill in the class attributes.

    Everything but ``setup``, ``on_app_init`` and ``ping`` is plain data, readable without
    a running app, so ``boss monitoring build`` and the docs can use it.
    """

    name: ClassVar[str]
    """Unique ``[a-z][a-z0-9_]*``; names the alert group, dashboard row and settings section."""
    title: ClassVar[str] = ""
    """Human title for the dashboard row; defaults to the name, capitalised."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Plugins that must be enabled for this one to work."""
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    alerts: ClassVar[tuple[AlertRule, ...]] = ()
    recording_rules: ClassVar[tuple[RecordingRule, ...]] = ()
    rule_tests: ClassVar[tuple[RuleTest, ...]] = ()
    panels: ClassVar[tuple[Panel, ...]] = ()
    slos: ClassVar[tuple[SLO, ...]] = ()
    """Service-level objectives; the build derives burn-rate rules, alerts, tests and panels."""
    settings_type: ClassVar[type[Any] | None] = None
    """A msgspec Struct read from ``BOSS_<NAME>__*`` variables, or ``None``."""
    migrations: ClassVar[str | None] = None
    """Dotted package holding this plugin's Alembic versions (its own branch), or ``None``."""
    openapi_enums: ClassVar[dict[str, tuple[str, ...]]] = {}
    """String enums shared by several operations, by component name: the served OpenAPI
    document refers to ``#/components/schemas/<name>`` wherever exactly these values appear."""

    def setup(self, context: PluginContext) -> None:
        """Receive settings and metric handles; called once, before ``on_app_init``."""
        self.context = context

    def on_app_init(self, app_config: Any) -> Any:
        """Add routes, dependencies, listeners and lifespan hooks to the Litestar app."""
        return app_config

    async def ping(self) -> str | None:
        """Readiness check: return an optional detail, raise to report the plugin failing.

        Plugins without anything to check keep this default.
        """
        return None

    @property
    def has_ping(self) -> bool:
        """Whether this plugin overrides ``ping`` (only those appear in ``/health/ready``)."""
        return type(self).ping is not BossPlugin.ping

    @property
    def display_title(self) -> str:
        """The title shown on the plugin's dashboard row."""
        return self.title or self.name.replace("_", " ").capitalize()
