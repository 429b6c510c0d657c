"""Plugin loading fails early with one message naming the plugin and its entry point."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import ClassVar

import pytest

from boss import AlertRule, BossPlugin, MetricSpec
from boss.loader import PluginLoadError, _load_entry_point, check_plugins, explicit, load_plugins
from boss.settings import load_settings


def make(name: str, **attrs: object) -> type[BossPlugin]:
    return type(f"P_{name}", (BossPlugin,), {"name": name, **attrs})


COUNTER = MetricSpec(name="thing_total", kind="counter", help="Things.")


def load(*plugins: object, env: dict[str, str] | None = None):
    return load_plugins(load_settings(env or {}), plugins)


def test_core_is_added_and_ordered_first_then_dependencies():
    a = make("zeta", requires=("alpha",))
    b = make("alpha")
    names = [p.name for p in load(a, b)]
    assert names == ["core", "alpha", "zeta"]


def test_two_plugins_with_one_name():
    with pytest.raises(PluginLoadError, match="two plugins are named 'dup'"):
        load(make("dup"), make("dup"))


def test_duplicate_metric_names_name_both_plugins():
    with pytest.raises(PluginLoadError) as info:
        load(make("one", metrics=(COUNTER,)), make("two", metrics=(COUNTER,)))
    message = str(info.value)
    assert "'thing_total'" in message
    assert "plugin 'one'" in message
    assert "plugin 'two'" in message


def test_metric_clashing_with_a_core_metric():
    spec = MetricSpec(name="http_requests_total", kind="counter", help="again")
    with pytest.raises(PluginLoadError, match=r"plugin .core.*plugin .mine."):
        load(make("mine", metrics=(spec,)))


def test_histogram_series_clash_with_a_counter():
    hist = MetricSpec(name="job_seconds", kind="histogram", help="h", buckets=(1.0,))
    gauge = MetricSpec(name="job_seconds_count", kind="gauge", help="g")
    with pytest.raises(PluginLoadError, match="declared by two plugins"):
        load(make("a", metrics=(hist,)), make("b", metrics=(gauge,)))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            MetricSpec(name="bad-name_total", kind="counter", help="x"),
            "not a valid Prometheus metric name",
        ),
        (MetricSpec(name="things", kind="counter", help="x"), "must end in '_total'"),
        (MetricSpec(name="x_seconds", kind="histogram", help="x"), "needs buckets"),
        (
            MetricSpec(name="x_seconds", kind="histogram", help="x", buckets=(2.0, 1.0)),
            "strictly increasing",
        ),
        (
            MetricSpec(name="x_total", kind="counter", help="x", labels=("bad-label",)),
            "not a valid label name",
        ),
        (MetricSpec(name="x_total", kind="counter", help="x", labels=("le",)), "reserved"),
        (MetricSpec(name="x", kind="gauge", help=""), "no help text"),
        (
            MetricSpec(name="x_total", kind="counter", help="x", labels=("user",)),
            "metric 'x_total': label 'user' is unbounded — list its values",
        ),
        (
            MetricSpec(name="x_total", kind="counter", help="x", labels=("u",), max_series=0),
            "max_series must be at least 1",
        ),
        (
            MetricSpec(name="x_total", kind="counter", help="x", label_values={"u": ()}),
            "label_values names undeclared 'u'",
        ),
        (MetricSpec(name="x", kind="summary", help="x"), "invalid metric spec"),  # type: ignore[arg-type]
    ],
)
def test_invalid_metric_spec(spec, expected):
    with pytest.raises(PluginLoadError) as info:
        load(make("mine", metrics=(spec,)))
    assert "plugin 'mine' (entry point <explicit>)" in str(info.value)
    assert expected in str(info.value)


def test_unknown_severity_and_bad_duration():
    alert = AlertRule(name="A", expr="up == 0", severity="page", summary="s", description="d")  # type: ignore[arg-type]
    with pytest.raises(PluginLoadError, match="unknown severity 'page'"):
        load(make("mine", alerts=(alert,)))
    slow = AlertRule(
        name="A", expr="up == 0", severity="info", summary="s", description="d", for_="5 minutes"
    )
    with pytest.raises(PluginLoadError, match="'for' '5 minutes' is not a duration"):
        load(make("mine", alerts=(slow,)))


def test_bad_plugin_names():
    with pytest.raises(PluginLoadError, match="must match"):
        load(make("Bad-Name"))


def test_missing_dependency_is_a_clear_error():
    with pytest.raises(PluginLoadError) as info:
        load(make("ai", requires=("tasks",)))
    assert "plugin 'ai'" in str(info.value)
    assert "requires plugin 'tasks'" in str(info.value)
    assert "BOSS_PLUGINS__DISABLED" in str(info.value)


def test_dependency_cycle():
    with pytest.raises(PluginLoadError, match="cycle"):
        load(make("a", requires=("b",)), make("b", requires=("a",)))


def test_disabled_plugins_are_dropped():
    names = [p.name for p in load(make("extra"), env={"BOSS_PLUGINS__DISABLED": "extra"})]
    assert names == ["core"]


def test_not_a_plugin():
    with pytest.raises(PluginLoadError, match=r"not a boss\.BossPlugin"):
        explicit([object()])


def test_entry_point_that_fails_to_import_names_plugin_and_target():
    ep = EntryPoint(name="broken", value="boss_no_such_module:Plugin", group="boss.plugins")
    with pytest.raises(PluginLoadError) as info:
        _load_entry_point(ep)
    message = str(info.value)
    assert "plugin 'broken'" in message
    assert "boss_no_such_module:Plugin" in message
    assert "ModuleNotFoundError" in message


def test_entry_point_name_must_match_plugin_name():
    ep = EntryPoint(name="other", value="boss.core_plugin:CorePlugin", group="boss.plugins")
    with pytest.raises(PluginLoadError, match="must equal the plugin name"):
        _load_entry_point(ep)


def test_core_cannot_be_disabled():
    with pytest.raises(PluginLoadError, match="'core' plugin cannot be disabled"):
        load_plugins(load_settings({"BOSS_PLUGINS__DISABLED": "core"}))


def test_unknown_disabled_name_is_reported():
    with pytest.raises(PluginLoadError, match="unknown plugin"):
        load_plugins(load_settings({"BOSS_PLUGINS__DISABLED": "nosuchplugin"}))


def test_check_plugins_accepts_the_installed_set():
    loaded = load_plugins(load_settings({}))
    assert loaded[0].name == "core"
    assert loaded[0].distribution == "boss"
    assert check_plugins(loaded) == loaded


class _Flaky(BossPlugin):
    name = "flaky"
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()


def test_the_monitoring_build_does_not_import_the_web_app() -> None:
    import subprocess
    import sys

    code = (
        "import sys, boss.monitoring.build, boss.cli.monitoring; "
        "print(sorted(m for m in sys.modules if m in ('boss.app', 'litestar')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "boss.app" not in done.stdout, done.stdout
