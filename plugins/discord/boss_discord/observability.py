"""The Discord plugin's metric, alert, rule tests and panel (plain data, no app needed)."""

from __future__ import annotations

from boss import AlertRule, AlertTest, ExpectedAlert, MetricSpec, Panel, Query, RuleTest, Series

__all__ = ("ALERTS", "METRICS", "PANELS", "RULE_TESTS")

METRICS = (
    MetricSpec(
        name="discord_messages_sent_total",
        kind="counter",
        help=(
            "Discord notifications by channel and outcome, one per event: sent (its own "
            "embed), coalesced (inside a digest of a burst), failed (rejected, deleted webhook "
            "or retries exhausted), dropped (queue full, or older than the outbox age limit) "
            "or unsent (still queued in memory at shutdown)."
        ),
        labels=("channel", "status"),
        label_values={"status": ("sent", "coalesced", "failed", "dropped", "unsent")},
        label_bounds={"channel": "a channel with a configured webhook (BOSS_DISCORD__WEBHOOKS)"},
        max_series=200,
    ),
)

ALERTS = (
    AlertRule(
        name="DiscordSendFailures",
        expr=(
            'sum by (job, channel) (increase(discord_messages_sent_total{status=~"failed|dropped|unsent"}[10m]))'
            " > 0"
        ),
        for_="5m",
        severity="warning",
        summary="Discord notifications to channel {{ $labels.channel }} are being lost",
        description=(
            "{{ $value | humanize }} message(s) for Discord channel {{ $labels.channel }} were "
            "not delivered in the last 10 minutes (rejected, webhook deleted, retries exhausted, "
            "queue full or unsent at shutdown)."
        ),
    ),
)

_SENT = 'discord_messages_sent_total{channel="tasks", status="sent"}'
_FAILED = 'discord_messages_sent_total{channel="tasks", status="failed"}'

RULE_TESTS = (
    RuleTest(
        name="DiscordSendFailures fires while messages fail",
        input_series=(
            Series(series=_SENT, values="0+2x30"),
            Series(series=_FAILED, values="0 0 0 0 0 1+1x25"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="4m", alertname="DiscordSendFailures"),
            AlertTest(
                eval_time="20m",
                alertname="DiscordSendFailures",
                exp_alerts=(
                    ExpectedAlert(
                        exp_labels={"severity": "warning", "channel": "tasks"},
                    ),
                ),
            ),
        ),
    ),
    RuleTest(
        name="the first failure of a series exported at 0 from start-up fires (15 s scrapes)",
        interval="15s",
        input_series=(
            Series(series=_SENT, values="0+1x80"),
            Series(series=_FAILED, values="0x40 1x40"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="9m", alertname="DiscordSendFailures"),
            AlertTest(
                eval_time="16m",
                alertname="DiscordSendFailures",
                exp_alerts=(ExpectedAlert(exp_labels={"severity": "warning", "channel": "tasks"}),),
            ),
        ),
    ),
    RuleTest(
        name="DiscordSendFailures stays quiet while every message is sent",
        input_series=(
            Series(series=_SENT, values="0+2x30"),
            Series(series=_FAILED, values="0x30"),
        ),
        alert_rule_test=(
            AlertTest(eval_time="10m", alertname="DiscordSendFailures"),
            AlertTest(eval_time="30m", alertname="DiscordSendFailures"),
        ),
    ),
)

PANELS = (
    Panel(
        title="Discord messages sent (msg/min)",
        kind="timeseries",
        unit="short",
        description="Messages per minute by outcome; anything but 'sent' is a lost notification.",
        queries=(
            Query(
                expr="sum by (status) (rate(discord_messages_sent_total[5m])) * 60",
                legend="{{status}}",
            ),
        ),
    ),
)
