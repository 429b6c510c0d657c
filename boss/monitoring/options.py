"""What a monitoring build is for: targets, labels, intervals, secrets and routing knobs.

Every default suits the compose stack in ``compose.monitoring.yml``; the CLI flags of
``boss monitoring build`` map one to one onto these fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ("DEFAULT_WEBHOOK_FILE", "BuildOptions")

DEFAULT_WEBHOOK_FILE = "/run/secrets/discord_webhook"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "boss" / "monitoring-build"


def _operator_labels() -> dict[str, str]:
    return {"release": "kube-prometheus-stack"}


def _app_selector() -> dict[str, str]:
    return {"app.kubernetes.io/name": "boss"}


def _webhooks() -> dict[str, str]:
    return {s: DEFAULT_WEBHOOK_FILE for s in ("critical", "warning", "info")}


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """Inputs of ``boss monitoring build`` besides the installed plugins."""

    targets: tuple[str, ...] = ("boss:8000",)
    """``host:port`` of every boss replica Prometheus scrapes (ignored with ``targets_file``)."""
    targets_file: str | None = None
    """A Prometheus file_sd file listing the boss replicas (as Prometheus sees its path)."""
    metrics_path: str = "/metrics"
    scrape_config_files: tuple[str, ...] = ()
    """Files of further scrape configs (other apps the same Prometheus scrapes), listed in
    ``scrape_config_files`` as Prometheus sees their paths; boss's rules ignore their jobs."""
    job: str = "boss"
    """The scrape job of boss's replicas; every generated rule and panel selects only it (the
    operator's ServiceMonitor sets it too)."""
    deployment_labels: tuple[str, ...] = ("cluster", "environment")
    """Labels that tell deployments apart (target or external labels): every alert keeps
    them, Alertmanager groups and inhibits by them, the dashboard has a variable for each."""
    cluster: str = "boss"
    """The ``cluster`` external label on every series and alert leaving Prometheus."""
    environment: str = "production"
    """The ``environment`` external label."""
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    alertmanager: str = "alertmanager:9093"
    prometheus: str = "localhost:9090"
    """Where Prometheus scrapes itself."""
    grafana: str = "grafana:3000"
    prometheus_url: str = "http://prometheus:9090"
    """The URL Grafana's provisioned datasource uses."""
    metrics_token_file: str | None = None
    """Bearer-token file Prometheus sends to boss's ``/metrics`` (``BOSS_METRICS__TOKEN``)."""
    remote_write_url: str | None = None
    """Long-term storage (Mimir, Thanos receive, Grafana Cloud) Prometheus writes to."""
    remote_write_token_file: str | None = None
    webhook_files: dict[str, str] = field(default_factory=_webhooks)
    """Discord webhook URL file per severity (Alertmanager reads it; the URL stays secret)."""
    group_wait_critical: str = "0s"
    group_wait_warning: str = "30s"
    group_wait_info: str = "5m"
    group_interval: str = "5m"
    repeat_interval: str = "12h"
    prometheus_external_url: str | None = None
    """Prometheus's address as ops reach it: notifications link each alert's source there."""
    alertmanager_external_url: str | None = None
    """Alertmanager's address as ops reach it: notifications carry a silence link there."""
    deadmans_switch_url_file: str | None = None
    """File holding the dead man's switch URL (healthchecks-style) the ``Watchdog`` alert
    is sent to every minute; without it the Watchdog goes to a receiver that sends nothing."""
    runbook_url_base: str = "docs/runbooks"
    """Prefix of each alert's ``runbook_url`` annotation (set it to your repository's web URL)."""
    runbooks_dir: Path | None = None
    """The deployment's runbook overrides: a page here wins over the one the alert's plugin
    ships in its package (``<package>/runbooks/<AlertName>.md``); ``None`` means none."""
    cache_dir: Path | None = field(default_factory=_cache_dir)
    """Where the build remembers the alert annotations promtool computed for each plugin's
    rule tests (keyed by the tests' content), so a rebuild runs every test file once instead
    of twice; ``None`` turns the cache off. Results are always verified by promtool."""
    kubernetes_namespace: str = "boss"
    """Namespace of every object under ``monitoring/kubernetes/`` (where boss runs)."""
    kubernetes_labels: dict[str, str] = field(default_factory=_operator_labels)
    """Labels on every generated Kubernetes object: what the Prometheus Operator's
    ``ruleSelector``/``serviceMonitorSelector``/``alertmanagerConfigSelector`` match
    (kube-prometheus-stack selects ``release: <its Helm release name>``)."""
    kubernetes_selector: dict[str, str] = field(default_factory=_app_selector)
    """Labels of boss's Service that the generated ServiceMonitor selects."""
    kubernetes_metrics_port: str = "http"
    """Name of the Service port that serves ``/metrics``."""
    kubernetes_metrics_secret: str = "boss-metrics"
    """Secret (key ``token``) with the ``/metrics`` bearer token; used when
    ``metrics_token_file`` is set, i.e. when boss runs with ``BOSS_METRICS__TOKEN``."""
    kubernetes_alertmanager_secret: str = "boss-alertmanager"
    """Secret holding the Discord webhook URLs for the AlertmanagerConfig: one key per
    webhook file, named after the file (``discord_webhook`` for the default file)."""
    slo_objectives: dict[str, float] = field(default_factory=dict)
    """Objective overrides by SLO name (``--slo-objective api-availability=0.995``)."""
