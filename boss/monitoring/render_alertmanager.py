"""Render ``alertmanager.yml``: Discord per severity, grouping, timing and inhibitions.

Critical alerts go out at once (``group_wait`` 0 s), warnings wait 30 s to be batched,
info waits longer; a critical alert silences the warnings of the same cluster and job,
and ``ApplicationDown`` silences every other alert of the same target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boss._specs import SEVERITIES, AlertRule
from boss.monitoring.options import BuildOptions
from boss.monitoring.yamlout import dump_yaml

__all__ = ("alertmanager_yml",)

GROUP_BY = ["alertname", "cluster", "job"]


def _receiver(severity: str, webhook_file: str) -> dict[str, Any]:
    return {
        "name": f"discord-{severity}",
        "discord_configs": [
            {
                "webhook_url_file": webhook_file,
                "send_resolved": True,
                "title": (
                    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
                    "{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}, "
                    "{{ .CommonLabels.cluster }})"
                ),
                "message": (
                    "{{ range .Alerts }}**{{ .Annotations.summary }}**\n"
                    "{{ .Annotations.description }}\n"
                    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
                ),
            }
        ],
    }


def _inhibits(alerts: Sequence[AlertRule], opts: BuildOptions) -> list[dict[str, Any]]:
    """One inhibit rule per alert that ``inhibits`` others (an SLO page mutes the threshold
    alert of the same outage), limited to the same job and deployment."""
    equal = list(dict.fromkeys(("job", *opts.deployment_labels)))
    return [
        {
            "source_matchers": [
                f'alertname="{alert.name}"',
                *(f'{k}="{v}"' for k, v in sorted(alert.labels.items())),
            ],
            "target_matchers": [f'alertname="{target}"'],
            "equal": list(equal),
        }
        for alert in alerts
        for target in alert.inhibits
    ]


def alertmanager_yml(opts: BuildOptions, alerts: Sequence[AlertRule] = ()) -> str:
    """The Alertmanager configuration for the options and (for inhibitions) alerts given."""
    waits = {
        "critical": opts.group_wait_critical,
        "warning": opts.group_wait_warning,
        "info": opts.group_wait_info,
    }
    routes = [
        {
            "receiver": f"discord-{severity}",
            "matchers": [f'severity="{severity}"'],
            "group_wait": waits[severity],
        }
        for severity in SEVERITIES
    ]
    config: dict[str, Any] = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "discord-warning",
            "group_by": GROUP_BY,
            "group_wait": opts.group_wait_warning,
            "group_interval": opts.group_interval,
            "repeat_interval": opts.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity=~"warning|info"'],
                "equal": ["cluster", "environment", "job"],
            },
            {
                "source_matchers": ['alertname="ApplicationDown"'],
                "target_matchers": ['alertname!="ApplicationDown"'],
                "equal": ["cluster", "environment", "instance"],
            },
            {
                "source_matchers": ['alertname="ApplicationDown"'],
                "target_matchers": ['alertname!="ApplicationDown"'],
                "equal": ["cluster", "environment", "job"],
            },
            *_inhibits(alerts, opts),
        ],
        "receivers": [
            _receiver(severity, opts.webhook_files.get(severity, opts.webhook_files["critical"]))
            for severity in SEVERITIES
        ],
    }
    return dump_yaml(config)
