"""Find plugins through the ``boss.plugins`` entry points and check them before anything runs.

Every error names the plugin and its entry point, so a broken third-party distribution is
a one-line start-up failure rather than a traceback at request time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import msgspec

from boss._specs import DURATION_RE, PLUGIN_NAME_RE, SEVERITIES
from boss.plugin import BossPlugin

if TYPE_CHECKING:
    from boss.settings import Settings

__all__ = (
    "ENTRY_POINT_GROUP",
    "LoadedPlugin",
    "PluginLoadError",
    "check_plugins",
    "discover",
    "explicit",
    "load_plugins",
)

ENTRY_POINT_GROUP = "boss.plugins"


class PluginLoadError(RuntimeError):
    """A plugin cannot be loaded or is inconsistent; the message says which and why."""


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    """A plugin object with where it came from."""

    plugin: BossPlugin
    entry_point: str
    """``name = module:attr`` as declared, or ``<explicit>`` for plugins passed in code."""
    distribution: str = ""
    version: str = ""

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self.plugin.name

    @property
    def where(self) -> str:
        """How error messages refer to this plugin."""
        return f"plugin {self.name!r} (entry point {self.entry_point})"

    @property
    def package(self) -> str:
        """The top-level Python package of the plugin's class: where its package data
        (``runbooks/<AlertName>.md``) lives."""
        return type(self.plugin).__module__.partition(".")[0]


def _instantiate(obj: Any, origin: str) -> BossPlugin:
    plugin = obj() if isinstance(obj, type) else obj
    if not isinstance(plugin, BossPlugin):
        raise PluginLoadError(
            f"{origin}: {type(plugin).__name__} is not a boss.BossPlugin subclass or instance"
        )
    return plugin


def _load_entry_point(ep: EntryPoint) -> LoadedPlugin:
    origin = f"entry point {ep.name} = {ep.value}"
    try:
        obj = ep.load()
        plugin = _instantiate(obj, origin)
    except PluginLoadError:
        raise
    except Exception as exc:
        raise PluginLoadError(
            f"plugin {ep.name!r} ({origin}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if getattr(plugin, "name", None) != ep.name:
        raise PluginLoadError(
            f"{origin}: the plugin calls itself {getattr(plugin, 'name', None)!r}; "
            f"the entry point name must equal the plugin name"
        )
    dist = ep.dist
    return LoadedPlugin(
        plugin=plugin,
        entry_point=f"{ep.name} = {ep.value}",
        distribution=dist.name if dist is not None else "",
        version=dist.version if dist is not None else "",
    )


def discover(disabled: Iterable[str] = ()) -> list[LoadedPlugin]:
    """Load every installed plugin except ``disabled`` ones (which are not even imported)."""
    skip = set(disabled)
    if "core" in skip:
        raise PluginLoadError("BOSS_PLUGINS__DISABLED: the 'core' plugin cannot be disabled")
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
    seen: dict[str, str] = {}
    loaded: list[LoadedPlugin] = []
    for ep in eps:
        if ep.name in seen and seen[ep.name] != ep.value:
            raise PluginLoadError(
                f"two plugins are named {ep.name!r}: entry points {seen[ep.name]} and {ep.value}"
            )
        if ep.name in seen:
            continue  # the same distribution seen twice on sys.path
        seen[ep.name] = ep.value
        if ep.name in skip:
            continue
        loaded.append(_load_entry_point(ep))
    unknown = sorted(skip - set(seen))
    if unknown:
        raise PluginLoadError(
            f"BOSS_PLUGINS__DISABLED names unknown plugin(s) {', '.join(unknown)}; "
            f"installed: {', '.join(sorted(seen))}"
        )
    return loaded


def explicit(plugins: Sequence[Any]) -> list[LoadedPlugin]:
    """Wrap plugins passed in code (tests, embedding) the same way entry points are."""
    out = []
    for obj in plugins:
        if isinstance(obj, LoadedPlugin):
            out.append(obj)
            continue
        plugin = _instantiate(obj, f"explicit plugin {obj!r}")
        out.append(LoadedPlugin(plugin=plugin, entry_point="<explicit>"))
    return out


def _revalidate(item: Any, where: str, what: str) -> None:
    """Round-trip a fragment through msgspec so wrong types and literals are caught."""
    try:
        msgspec.convert(msgspec.to_builtins(item), type(item))
    except (msgspec.ValidationError, TypeError) as exc:
        raise PluginLoadError(f"{where}: invalid {what}: {exc}") from None


def _check_one(item: LoadedPlugin) -> None:
    plugin, where = item.plugin, item.where
    if not PLUGIN_NAME_RE.match(plugin.name):
        raise PluginLoadError(f"{where}: plugin name must match [a-z][a-z0-9_]*")
    for spec in plugin.metrics:
        _revalidate(spec, where, f"metric spec {getattr(spec, 'name', spec)!r}")
        problems = spec.problems()
        if problems:
            raise PluginLoadError(f"{where}: {'; '.join(problems)}")
    for alert in plugin.alerts:
        if alert.severity not in SEVERITIES:
            raise PluginLoadError(
                f"{where}: alert {alert.name!r} has unknown severity {alert.severity!r} "
                f"(allowed: {', '.join(SEVERITIES)})"
            )
        _revalidate(alert, where, f"alert {alert.name!r}")
        runbook = alert.runbook_problem()
        if runbook is not None:
            raise PluginLoadError(f"{where}: alert {alert.name!r}: {runbook}")
        if not DURATION_RE.match(alert.for_):
            raise PluginLoadError(
                f"{where}: alert {alert.name!r}: 'for' {alert.for_!r} is not a duration"
            )
    for rule in plugin.recording_rules:
        _revalidate(rule, where, f"recording rule {rule.record!r}")
    for test in plugin.rule_tests:
        _revalidate(test, where, f"rule test {test.name!r}")
    for panel in plugin.panels:
        _revalidate(panel, where, f"panel {panel.title!r}")
    for slo in plugin.slos:
        _revalidate(slo, where, f"SLO {getattr(slo, 'name', slo)!r}")


def check_plugins(plugins: Sequence[LoadedPlugin]) -> list[LoadedPlugin]:
    """Validate specs, names and dependencies; return the plugins in dependency order."""
    by_name: dict[str, LoadedPlugin] = {}
    for item in plugins:
        _check_one(item)
        if item.name in by_name:
            raise PluginLoadError(
                f"two plugins are named {item.name!r}: {by_name[item.name].entry_point} "
                f"and {item.entry_point}"
            )
        by_name[item.name] = item
    owners: dict[str, LoadedPlugin] = {}
    for item in plugins:
        for spec in item.plugin.metrics:
            for sample in (spec.name, *spec.sample_names):
                other = owners.get(sample)
                if other is not None and other is not item:
                    raise PluginLoadError(
                        f"metric {spec.name!r} is declared by two plugins: "
                        f"{other.where} and {item.where}"
                    )
                if (
                    other is item
                    and sample == spec.name
                    and spec.name in {s.name for s in item.plugin.metrics if s is not spec}
                ):
                    raise PluginLoadError(f"{item.where}: metric {spec.name!r} is declared twice")
                owners[sample] = item
    for item in plugins:
        for needed in item.plugin.requires:
            if needed not in by_name:
                raise PluginLoadError(
                    f"{item.where} requires plugin {needed!r}, which is not installed or is "
                    f"disabled; install it or add {item.name!r} to BOSS_PLUGINS__DISABLED"
                )
    return _ordered(by_name)


def _ordered(by_name: dict[str, LoadedPlugin]) -> list[LoadedPlugin]:
    order: list[LoadedPlugin] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise PluginLoadError(f"plugins require each other in a cycle: {' -> '.join(chain)}")
        state[name] = 1
        for needed in by_name[name].plugin.requires:
            visit(needed, (*chain, needed))
        state[name] = 2
        order.append(by_name[name])

    for name in sorted(by_name, key=lambda n: (n != "core", n)):
        visit(name, (name,))
    return order


def load_plugins(settings: Settings, plugins: Sequence[Any] | None = None) -> list[LoadedPlugin]:
    """The enabled plugins in dependency order: from entry points, or ``plugins`` when given.

    With explicit ``plugins`` the core plugin is added when missing. Needs no app, so the
    monitoring build and the CLI load plugins exactly as ``create_app`` does.
    """
    from boss.core_plugin import CorePlugin  # imported on use: it pulls in database fragments

    if plugins is None:
        loaded = discover(settings.plugins.disabled)
    else:
        loaded = [p for p in explicit(plugins) if p.name not in settings.plugins.disabled]
        if not any(p.name == "core" for p in loaded):
            loaded.insert(
                0,
                LoadedPlugin(plugin=CorePlugin(), entry_point="core = boss.core_plugin:CorePlugin"),
            )
    return check_plugins(loaded)
