"""Alerts that watch the watcher: Watchdog, rule evaluation, notifications, Alertmanager discovery.

They belong to no plugin: the build renders them as their own rule group
(``rules/self_monitoring.yml``) through the same path as a plugin's, but unscoped, since they
select Prometheus's and Alertmanager's own jobs, and ``Watchdog`` must fire even when no boss
target exists. Alertmanager routes ``Watchdog`` to the dead man's switch, never to Discord.
"""

from __future__ import annotations

from typing import ClassVar

from boss._specs import AlertRule, AlertTest, ExpectedAlert, RuleTest, Series
from boss.loader import LoadedPlugin
from boss.plugin import BossPlugin

__all__ = ("SELF_MONITORING", "WATCHDOG", "SelfMonitoringPlugin", "is_scoped", "self_monitoring")

SELF_MONITORING = "self_monitoring"
WATCHDOG = "Watchdog"

_PROM = 'job="prometheus", instance="localhost:9090"'
_AM = 'job="alertmanager", instance="alertmanager:9093"'

ALERTS = (
    AlertRule(
        name=WATCHDOG,
        expr="vector(1)",
        severity="info",
        summary="The alerting pipeline is alive (this alert always fires)",
        description=(
            "Always firing. Alertmanager sends it to the dead man's switch every minute; when "
            "the switch stops hearing from it, Prometheus, Alertmanager or the path between "
            "them is broken."
        ),
    ),
    AlertRule(
        name="PrometheusRuleFailures",
        expr=(
            "sum by (job, instance, rule_group)"
            " (increase(prometheus_rule_evaluation_failures_total[5m])) > 0"
        ),
        for_="5m",
        severity="critical",
        summary="Prometheus fails to evaluate rules of {{ $labels.rule_group }}",
        description=(
            '{{ $value | printf "%.0f" }} rule evaluations of {{ $labels.rule_group }} failed'
            " in 5 minutes: the alerts of that group cannot fire."
        ),
    ),
    AlertRule(
        name="AlertmanagerFailedToSendAlerts",
        expr=(
            "sum by (job, instance, integration)"
            " (increase(alertmanager_notifications_failed_total[5m])) > 0"
        ),
        for_="5m",
        severity="warning",
        summary="Alertmanager cannot deliver notifications to {{ $labels.integration }}",
        description=(
            '{{ $value | printf "%.0f" }} notifications to {{ $labels.integration }} failed in'
            " 5 minutes: alerts may not reach anyone (this one included, if it is the only"
            " channel)."
        ),
    ),
    AlertRule(
        name="PrometheusNotConnectedToAlertmanagers",
        expr="max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1",
        for_="10m",
        severity="critical",
        summary="Prometheus {{ $labels.instance }} has no Alertmanager to send alerts to",
        description=(
            "Prometheus discovered no Alertmanager for 15 minutes: no alert leaves it; the dead"
            " man's switch stops receiving the Watchdog."
        ),
    ),
)


def _case(name: str, labels: dict[str, str], quiet: str, firing: str) -> tuple[AlertTest, ...]:
    return (
        AlertTest(eval_time=quiet, alertname=name),
        AlertTest(eval_time=firing, alertname=name, exp_alerts=(ExpectedAlert(exp_labels=labels),)),
    )


RULE_TESTS = (
    RuleTest(
        name="Watchdog always fires, even without any boss target",
        interval="15s",
        input_series=(Series(series=f"up{{{_PROM}}}", values="1x10"),),
        alert_rule_test=(
            AlertTest(
                eval_time="1m",
                alertname=WATCHDOG,
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "info"}),),
            ),
        ),
    ),
    RuleTest(
        name="PrometheusRuleFailures fires while evaluations fail",
        interval="15s",
        input_series=(
            Series(
                series=f'prometheus_rule_evaluation_failures_total{{{_PROM}, rule_group="core"}}',
                values="0x20 1+1x60",
            ),
        ),
        alert_rule_test=_case(
            "PrometheusRuleFailures",
            {
                "severity": "critical",
                "job": "prometheus",
                "instance": "localhost:9090",
                "rule_group": "core",
            },
            "4m",
            "16m",
        ),
    ),
    RuleTest(
        name="AlertmanagerFailedToSendAlerts fires while Discord refuses notifications",
        interval="15s",
        input_series=(
            Series(
                series=(
                    "alertmanager_notifications_failed_total"
                    f'{{{_AM}, integration="discord", reason="clientError"}}'
                ),
                values="0x20 1+1x60",
            ),
        ),
        alert_rule_test=_case(
            "AlertmanagerFailedToSendAlerts",
            {
                "severity": "warning",
                "job": "alertmanager",
                "instance": "alertmanager:9093",
                "integration": "discord",
            },
            "4m",
            "16m",
        ),
    ),
    RuleTest(
        name="PrometheusNotConnectedToAlertmanagers fires when the Alertmanager is lost",
        interval="15s",
        input_series=(
            Series(
                series=f"prometheus_notifications_alertmanagers_discovered{{{_PROM}}}",
                values="1x40 0x100",
            ),
        ),
        alert_rule_test=_case(
            "PrometheusNotConnectedToAlertmanagers",
            {"severity": "critical", "job": "prometheus", "instance": "localhost:9090"},
            "12m",
            "32m",
        ),
    ),
)


class SelfMonitoringPlugin(BossPlugin):
    """The build's own meta-alerts, rendered like a plugin's rule group but never scoped."""

    name = SELF_MONITORING
    title = "Self-monitoring"
    alerts: ClassVar[tuple[AlertRule, ...]] = ALERTS
    rule_tests: ClassVar[tuple[RuleTest, ...]] = RULE_TESTS


def self_monitoring() -> LoadedPlugin:
    """The meta-alert group as the build handles it."""
    return LoadedPlugin(plugin=SelfMonitoringPlugin(), entry_point="<built-in: boss.monitoring>")


def is_scoped(item: LoadedPlugin) -> bool:
    """Whether the build scopes this plugin's expressions to boss (all but the meta group)."""
    return not isinstance(item.plugin, SelfMonitoringPlugin)
