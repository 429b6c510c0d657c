"""``boss plugins new NAME``: the files of a complete third-party plugin distribution.

The result installs with pip, registers its entry point, and passes its own tests
unchanged: one counter, one alert with a firing and a quiet rule test, one panel, one
route, the alert's runbook as package data, and a test that runs the real build checks.
"""

from __future__ import annotations

from pathlib import Path

from boss._specs import PLUGIN_NAME_RE

__all__ = ("ScaffoldError", "scaffold")


class ScaffoldError(ValueError):
    """The name or destination cannot be used; the message says why."""


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A boss plugin: {name}."
requires-python = ">=3.11"
dependencies = ["boss"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points."boss.plugins"]
{name} = "{package}:{cls}"

[tool.setuptools]
packages = ["{package}", "{package}.runbooks"]

[tool.setuptools.package-data]
{package} = ["py.typed"]
"{package}.runbooks" = ["*.md"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_PLUGIN = '''\
"""The {name} plugin for boss: counts {name} events and alerts when too many fail."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import get
from litestar.config.app import AppConfig
from litestar.params import FromQuery

from boss import (
    AlertRule,
    AlertTest,
    BossPlugin,
    ExpectedAlert,
    MetricSpec,
    Panel,
    PluginContext,
    Query,
    RuleTest,
    Series,
)

__all__ = ("{cls}",)

OUTCOMES = ("ok", "error")


class {cls}(BossPlugin):
    """Counts {name} events by outcome; ``GET /api/{name}/events`` records one."""

    name = "{name}"
    title = "{title}"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="{name}_events_total",
            kind="counter",
            help="{title} events handled, by outcome.",
            labels=("outcome",),
            label_values={{"outcome": OUTCOMES}},
        ),
    )
    alerts: ClassVar[tuple[AlertRule, ...]] = (
        AlertRule(
            name="{alert}",
            expr=(
                'sum(rate({name}_events_total{{outcome="error"}}[5m]))'
                " / sum(rate({name}_events_total[5m])) > 0.1"
            ),
            for_="10m",
            severity="warning",
            summary="More than 10% of {name} events fail",
            description="{{{{ $value | humanizePercentage }}}} of {name} events failed.",
        ),
    )
    rule_tests: ClassVar[tuple[RuleTest, ...]] = (
        RuleTest(
            name="{alert} fires at 50% errors and not at 1%",
            input_series=(
                Series(series='{name}_events_total{{outcome="ok"}}', values="0+10x40"),
                Series(series='{name}_events_total{{outcome="error"}}', values="0+0.1x10 1+10x30"),
            ),
            alert_rule_test=(
                AlertTest(eval_time="8m", alertname="{alert}"),
                AlertTest(
                    eval_time="35m",
                    alertname="{alert}",
                    exp_alerts=(ExpectedAlert(exp_labels={{"severity": "warning"}}),),
                ),
            ),
        ),
    )
    panels: ClassVar[tuple[Panel, ...]] = (
        Panel(
            title="{title} events per second",
            kind="timeseries",
            unit="reqps",
            queries=(
                Query(
                    expr="sum by (outcome) (rate({name}_events_total[5m]))",
                    legend="{{{{outcome}}}}",
                ),
            ),
        ),
    )

    def setup(self, context: PluginContext) -> None:
        """Keep the counter handle the core created from the spec above."""
        super().setup(context)
        self.events = context.metrics.counter("{name}_events_total")

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add ``GET /api/{name}/events``, which records one event."""
        events = self.events

        @get("/api/{name}/events", tags=["{name}"])
        async def record(outcome: FromQuery[str] = "ok") -> dict[str, Any]:
            known = outcome if outcome in OUTCOMES else "error"
            events.labels(known).inc()
            return {{"recorded": known}}

        app_config.route_handlers.append(record)
        return app_config
'''

_RUNBOOK = """\
# {alert}

More than 10% of `{name}` events failed over 5 minutes, for 10 minutes.

## What it means

`{name}_events_total{{outcome="error"}}` grows faster than a tenth of all events.

## Check

- The plugin's panel "{title} events per second" on the boss dashboard.
- The boss logs around the time the alert started.

## Fix

Find what the failing events have in common and fix that; the alert resolves by itself.
"""

_TEST = '''\
"""The {name} plugin builds with boss's real checks and its route counts events."""

from __future__ import annotations

from litestar.testing import TestClient

from boss.app import create_app
from boss.settings import load_settings
from boss.testing import assert_builds
from {package} import {cls}

KEY = "ci-admin-key-0123456789abcdef"


def test_monitoring_build_passes_promtool_and_amtool() -> None:
    result = assert_builds({cls})
    assert "{alert}" in result.rules("{name}")
    assert "docs/runbooks/{alert}.md" in result.files


def test_the_route_counts_events(tmp_path) -> None:
    settings = load_settings({{"BOSS_DATA_DIR": str(tmp_path), "BOSS_API_KEYS": f"ci:admin:{{KEY}}"}})
    app = create_app(settings, plugins=[{cls}()])
    with TestClient(app) as client:
        auth = {{"Authorization": f"Bearer {{KEY}}"}}
        assert client.get("/api/{name}/events", headers=auth).json() == {{"recorded": "ok"}}
        metrics = client.get("/metrics").text
    assert '{name}_events_total{{outcome="ok"}} 1.0' in metrics
    assert '{name}_events_total{{outcome="error"}} 0.0' in metrics
'''

_README = """\
# {dist}

A boss plugin: one counter (`{name}_events_total`), one alert (`{alert}`, runbook in
`{package}/runbooks/`), one dashboard panel and one route (`GET /api/{name}/events`).

    pip install -e '.[test]'
    pytest                      # needs promtool and amtool (boss: make tools)
    boss plugins list           # shows {name}
"""


def scaffold(name: str, dest: Path) -> list[Path]:
    """Write the distribution ``boss-<name>`` into ``dest`` (created; must be empty)."""
    if not PLUGIN_NAME_RE.match(name):
        raise ScaffoldError(
            f"plugin name {name!r} must match [a-z][a-z0-9_]* (lower case, digits, '_')"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ScaffoldError(f"{dest} already exists and is not an empty folder")
    words = name.split("_")
    camel = "".join(w.capitalize() for w in words if w)
    package = f"boss_{name}"
    values = {
        "name": name,
        "package": package,
        "dist": f"boss-{name.replace('_', '-')}",
        "cls": f"{camel}Plugin",
        "title": " ".join(w.capitalize() for w in words if w),
        "alert": f"{camel}EventsFailing",
    }
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{package}/__init__.py": _PLUGIN,
        f"{package}/py.typed": "",
        f"{package}/runbooks/{values['alert']}.md": _RUNBOOK,
        f"tests/test_{name}.py": _TEST,
    }
    written = []
    for rel, template in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        written.append(path)
    return written
