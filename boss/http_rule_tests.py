"""promtool tests of the core's HTTP and availability alerts, as ops meet them in production.

Series without ``job``, ``instance`` or a deployment label get the build's values (the build
stamps them, like it scopes the rules); series that name another job or environment stand
for the other apps and deployments one Prometheus also scrapes. Most inputs come at 15 s,
production's scrape interval.
"""

from __future__ import annotations

from boss._specs import AlertTest, ExpectedAlert, RuleTest, Series

__all__ = ("HTTP_RULE_TESTS",)


def _requests(status: str, values: str, endpoint: str = "/api/tasks", extra: str = "") -> Series:
    labels = f'method="GET", endpoint="{endpoint}", status="{status}"{extra}'
    return Series(series=f"http_requests_total{{{labels}}}", values=values)


def _bucket(le: str, values: str, endpoint: str = "/api/tasks", extra: str = "") -> Series:
    labels = f'method="GET", endpoint="{endpoint}", le="{le}"{extra}'
    return Series(series=f"http_request_duration_seconds_bucket{{{labels}}}", values=values)


def _count(values: str, endpoint: str = "/api/tasks", extra: str = "") -> Series:
    labels = f'method="GET", endpoint="{endpoint}"{extra}'
    return Series(series=f"http_request_duration_seconds_count{{{labels}}}", values=values)


def _quiet(eval_time: str, *names: str) -> tuple[AlertTest, ...]:
    return tuple(AlertTest(eval_time=eval_time, alertname=name) for name in names)


_PAYMENTS = ', job="payments", instance="payments:9000"'

HTTP_RULE_TESTS = (
    RuleTest(
        name="one replica of three down is a warning naming it, not a page",
        interval="15s",
        input_series=(
            Series(series='up{instance="a:8000"}', values="1x60"),
            Series(series='up{instance="b:8000"}', values="1x8 0x52"),
            Series(series='up{instance="c:8000"}', values="1x60"),
        ),
        alert_rule_test=(
            *_quiet("4m", "InstanceDown", "ApplicationDown"),
            AlertTest(
                eval_time="6m",
                alertname="InstanceDown",
                exp_alerts=(
                    ExpectedAlert(exp_labels={"severity": "warning", "instance": "b:8000"}),
                ),
            ),
            *_quiet("6m", "ApplicationDown"),
        ),
    ),
    RuleTest(
        name="every replica down for a minute pages ApplicationDown",
        interval="15s",
        input_series=(
            Series(series='up{instance="a:8000"}', values="1x8 0x40"),
            Series(series='up{instance="b:8000"}', values="1x8 0x40"),
        ),
        alert_rule_test=(
            *_quiet("2m30s", "ApplicationDown"),
            AlertTest(
                eval_time="4m",
                alertname="ApplicationDown",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "critical"}),),
            ),
        ),
    ),
    RuleTest(
        name="no boss target at all (service discovery lost them) pages ApplicationDown",
        interval="15s",
        input_series=(
            Series(series='up{job="payments", instance="payments:9000"}', values="1x20"),
        ),
        alert_rule_test=(
            *_quiet("30s", "ApplicationDown"),
            AlertTest(
                eval_time="2m",
                alertname="ApplicationDown",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "critical"}, deployment=False),),
            ),
        ),
    ),
    RuleTest(
        name="a failing foreign job in the same Prometheus fires no boss alert",
        interval="15s",
        input_series=(
            Series(series='up{instance="boss:8000"}', values="1x100"),
            _requests("200", "0+20x100"),
            _bucket("1.0", "0+20x100"),
            _bucket("2.0", "0+20x100"),
            _bucket("+Inf", "0+20x100"),
            _count("0+20x100"),
            Series(series=f"up{{{_PAYMENTS[2:]}}}", values="0x100"),
            _requests("500", "0+50x100", "/pay", _PAYMENTS),
            _bucket("1.0", "0x100", "/pay", _PAYMENTS),
            _bucket("2.0", "0x100", "/pay", _PAYMENTS),
            _bucket("+Inf", "0+50x100", "/pay", _PAYMENTS),
            _count("0+50x100", "/pay", _PAYMENTS),
            Series(
                series=f'db_pool_connections{{state="overflow"{_PAYMENTS}}}',
                values="20x100",
            ),
        ),
        alert_rule_test=_quiet(
            "20m",
            "ApplicationDown",
            "InstanceDown",
            "HighErrorRate",
            "SlowAPIResponses",
            "DatabasePoolExhaustion",
        ),
    ),
    RuleTest(
        name="staging at 50% errors beside a healthy production alerts as staging only",
        interval="15s",
        input_series=(
            _requests("200", "0+20x80"),
            _requests("200", "0+10x80", extra=', environment="staging"'),
            _requests("500", "0+10x80", extra=', environment="staging"'),
        ),
        alert_rule_test=(
            AlertTest(
                eval_time="12m",
                alertname="HighErrorRate",
                exp_alerts=(
                    ExpectedAlert(exp_labels={"severity": "critical", "environment": "staging"}),
                ),
            ),
        ),
    ),
    RuleTest(
        name="a trickle of errors at night does not page",
        interval="15s",
        input_series=(
            _requests("200", "0+1x120"),
            _requests("500", "0+0.15x120"),
        ),
        alert_rule_test=_quiet("25m", "HighErrorRate"),
    ),
    RuleTest(
        name="a real outage at normal traffic pages within the seed's 5 minutes",
        interval="15s",
        input_series=(
            _requests("200", "0+30x40 1200+15x40"),
            _requests("500", "0x40 0+15x40"),
        ),
        alert_rule_test=(
            *_quiet("14m", "HighErrorRate"),
            AlertTest(
                eval_time="16m30s",
                alertname="HighErrorRate",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "critical"}),),
            ),
        ),
    ),
    RuleTest(
        name="failing health checks are no HTTP error rate",
        interval="15s",
        input_series=(
            _requests("200", "0+2x80"),
            _requests("503", "0+20x80", "/health/ready"),
        ),
        alert_rule_test=_quiet("15m", "HighErrorRate"),
    ),
    RuleTest(
        name="SlowAPIResponses fires when more than 5% of API requests take over 2 s",
        input_series=(
            _bucket("1.0", "0+80x20"),
            _bucket("2.0", "0+90x20"),
            _bucket("+Inf", "0+100x20"),
            _count("0+100x20"),
        ),
        alert_rule_test=(
            *_quiet("3m", "SlowAPIResponses"),
            AlertTest(
                eval_time="15m",
                alertname="SlowAPIResponses",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning"}),),
            ),
        ),
    ),
    RuleTest(
        name="SlowAPIResponses ignores the AI routes, which wait for the provider on purpose",
        input_series=(
            _bucket("2.0", "0+100x20"),
            _bucket("+Inf", "0+100x20"),
            _count("0+100x20"),
            _bucket("2.0", "0x20", "/api/ai/parse"),
            _bucket("+Inf", "0+50x20", "/api/ai/parse"),
            _count("0+50x20", "/api/ai/parse"),
        ),
        alert_rule_test=_quiet("15m", "SlowAPIResponses"),
    ),
)
