"""Render ``alertmanager.yml``: Discord per severity, the dead man's switch, grouping, inhibitions.

Critical alerts go out at once (``group_wait`` 0 s), warnings wait 30 s to be batched, info
waits longer. Alerts are grouped per deployment (``job`` plus the deployment labels), so two
deployments never share a notification. Inhibition never hides a cause: a critical alert
mutes only the warning and info alerts of the same name in the same deployment,
``ApplicationDown`` mutes the other alerts of its own deployment, and an alert's declared
``inhibits`` mute the named alerts of its deployment. ``Watchdog`` goes only to the dead
man's switch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from boss._specs import SEVERITIES
from boss.loader import LoadedPlugin
from boss.monitoring.options import BuildOptions
from boss.monitoring.self_monitoring import WATCHDOG
from boss.monitoring.yamlout import dump_yaml

__all__ = ("APPLICATION_DOWN", "DEADMANS_SWITCH", "alertmanager_yml", "deployment_key")

APPLICATION_DOWN = "ApplicationDown"
DEADMANS_SWITCH = "deadmans-switch"


def deployment_key(opts: BuildOptions) -> list[str]:
    """The labels that identify one deployment of boss: ``job`` and the deployment labels."""
    return list(dict.fromkeys(("job", *opts.deployment_labels)))


def _title(opts: BuildOptions) -> str:
    where = "/".join(f"{{{{ .CommonLabels.{label} }}}}" for label in deployment_key(opts))
    return (
        '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
        "{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}) " + where
    )


def _message(opts: BuildOptions) -> str:
    labels = " ".join(
        f"{label}={{{{ .Labels.{label} }}}}" for label in (*deployment_key(opts), "instance")
    )
    source = "{{ .GeneratorURL }}"
    if opts.prometheus_external_url:
        base = opts.prometheus_external_url.rstrip("/")
        source = f'{{{{ reReplaceAll "^https?://[^/]+" "{base}" .GeneratorURL }}}}'
    silence_base = (
        opts.alertmanager_external_url.rstrip("/")
        if opts.alertmanager_external_url
        else "{{ $.ExternalURL }}"
    )
    silence = (
        f"{silence_base}/#/silences/new?filter=%7B"
        "{{ range $i, $p := .Labels.SortedPairs }}{{ if $i }}%2C{{ end }}"
        "{{ $p.Name }}%3D%22{{ $p.Value | urlquery }}%22{{ end }}%7D"
    )
    return (
        "{{ range .Alerts }}**{{ .Annotations.summary }}**\n"
        f"{labels}\n"
        "{{ .Annotations.description }}\n"
        "Runbook: {{ .Annotations.runbook_url }}\n"
        f"Source: {source}\n"
        f"Silence: {silence}\n{{{{ end }}}}"
    )


def _receiver(severity: str, webhook_file: str, opts: BuildOptions) -> dict[str, Any]:
    return {
        "name": f"discord-{severity}",
        "discord_configs": [
            {
                "webhook_url_file": webhook_file,
                "send_resolved": True,
                "title": _title(opts),
                "message": _message(opts),
            }
        ],
    }


def _deadmans_switch(opts: BuildOptions) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": DEADMANS_SWITCH}
    if opts.deadmans_switch_url_file:
        receiver["webhook_configs"] = [
            {"url_file": opts.deadmans_switch_url_file, "send_resolved": False}
        ]
    return receiver


def _alternation(names: Sequence[str]) -> str:
    return "|".join(re.escape(name) for name in names)


def inhibit_rules(opts: BuildOptions, loaded: Sequence[LoadedPlugin]) -> list[dict[str, Any]]:
    """Who may mute whom: always within one deployment, never across alert names by default."""
    key = deployment_key(opts)
    rules: list[dict[str, Any]] = [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["alertname", *key],
        },
        {
            "source_matchers": [f'alertname="{APPLICATION_DOWN}"'],
            "target_matchers": [f'alertname!~"{APPLICATION_DOWN}|{WATCHDOG}"'],
            "equal": key,
        },
    ]
    for item in loaded:
        for alert in item.plugin.alerts:
            if alert.inhibits:
                rules.append(
                    {
                        "source_matchers": [
                            f'alertname="{alert.name}"',
                            # an SLO's alert names its SLO: only that SLO's page mutes
                            *(f'{k}="{v}"' for k, v in sorted(alert.labels.items())),
                        ],
                        "target_matchers": [
                            f'alertname=~"{_alternation(sorted(set(alert.inhibits)))}"'
                        ],
                        "equal": key,
                    }
                )
    return rules


def alertmanager_yml(opts: BuildOptions, loaded: Sequence[LoadedPlugin] = ()) -> str:
    """The Alertmanager configuration for the options and the plugins' declared inhibitions."""
    waits = {
        "critical": opts.group_wait_critical,
        "warning": opts.group_wait_warning,
        "info": opts.group_wait_info,
    }
    routes: list[dict[str, Any]] = [
        {
            "receiver": DEADMANS_SWITCH,
            "matchers": [f'alertname="{WATCHDOG}"'],
            "group_by": ["alertname", *deployment_key(opts)],
            "group_wait": "0s",
            "group_interval": "1m",
            "repeat_interval": "1m",
            "continue": False,
        }
    ]
    routes += [
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
            "group_by": ["alertname", *deployment_key(opts)],
            "group_wait": opts.group_wait_warning,
            "group_interval": opts.group_interval,
            "repeat_interval": opts.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": inhibit_rules(opts, loaded),
        "receivers": [
            _deadmans_switch(opts),
            *(
                _receiver(
                    severity, opts.webhook_files.get(severity, opts.webhook_files["critical"]), opts
                )
                for severity in SEVERITIES
            ),
        ],
    }
    return dump_yaml(config)
