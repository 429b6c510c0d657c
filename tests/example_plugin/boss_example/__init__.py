"""A complete third-party boss plugin, installed by the tests and shown in docs/plugins.md."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import get
from litestar.config.app import AppConfig

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

__all__ = ("ExamplePlugin",)


class ExamplePlugin(BossPlugin):
    """Greets people and counts the greetings by language."""

    name = "example"
    title = "Example greetings"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="example_greetings_total",
            kind="counter",
            help="Greetings served, by language.",
            labels=("language",),
            label_values={"language": ("en", "pt", "other")},
        ),
    )
    alerts: ClassVar[tuple[AlertRule, ...]] = (
        AlertRule(
            name="ExampleNoGreetings",
            expr="sum(rate(example_greetings_total[10m])) == 0",
            for_="30m",
            severity="info",
            summary="Nobody has been greeted for 30 minutes",
            description="example_greetings_total has not increased for 30 minutes.",
        ),
    )
    rule_tests: ClassVar[tuple[RuleTest, ...]] = (
        RuleTest(
            name="ExampleNoGreetings fires when greetings stop",
            input_series=(
                Series(series='example_greetings_total{language="en"}', values="0+1x30 30x60"),
            ),
            alert_rule_test=(
                AlertTest(eval_time="20m", alertname="ExampleNoGreetings"),
                AlertTest(
                    eval_time="85m",
                    alertname="ExampleNoGreetings",
                    exp_alerts=(ExpectedAlert(exp_labels={"severity": "info"}),),
                ),
            ),
        ),
    )
    panels: ClassVar[tuple[Panel, ...]] = (
        Panel(
            title="Greetings per minute",
            kind="timeseries",
            unit="short",
            queries=(
                Query(
                    expr="sum by (language) (rate(example_greetings_total[5m])) * 60",
                    legend="{{language}}",
                ),
            ),
        ),
    )

    def setup(self, context: PluginContext) -> None:
        """Keep the counter handle the core created from our spec."""
        super().setup(context)
        self.greetings = context.metrics.counter("example_greetings_total")

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add ``GET /api/example/hello``."""
        greetings = self.greetings

        @get("/api/example/hello", tags=["example"])
        async def hello(language: str = "en") -> dict[str, Any]:
            known = language if language in ("en", "pt") else "other"
            greetings.labels(known).inc()
            return {"greeting": "Olá" if known == "pt" else "Hello", "language": known}

        app_config.route_handlers.append(hello)
        return app_config
