"""``boss monitoring build`` and ``boss monitoring check``: generate and verify ops configs.

``build`` merges every installed plugin's fragments into ``monitoring/`` and
``docs/metrics.md`` (``--check`` only compares, for CI); ``check`` runs promtool and amtool
on the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from boss._specs import DURATION_RE, LABEL_NAME_RE, SEVERITIES
from boss.cli._errors import fail, settings_or_exit
from boss.monitoring import (
    BuildError,
    BuildOptions,
    ToolMissingError,
    drift,
    load_fragments,
    render,
    run_checks,
    write,
)
from boss.monitoring.options import DEFAULT_WEBHOOK_FILE
from boss.monitoring.validate_kubernetes import kubernetes_checks

__all__ = ("monitoring",)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not DURATION_RE.match(value):
        raise click.BadParameter(f"{value!r} is not a Prometheus duration (15s, 5m, 1h)")
    return value


def _webhooks(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    files = {severity: DEFAULT_WEBHOOK_FILE for severity in SEVERITIES}
    for value in values:
        severity, sep, path = value.partition("=")
        if not sep or not path or severity not in (*SEVERITIES, "all"):
            raise click.BadParameter(
                f"{value!r}: expected SEVERITY=PATH with SEVERITY one of "
                f"{', '.join(SEVERITIES)} or all"
            )
        for name in SEVERITIES if severity == "all" else (severity,):
            files[name] = path
    return files


def _label_map(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep or not key or not re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9_.-]+", key):
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE with a Kubernetes label key")
        labels[key] = label
    return labels


def _dns_label(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise click.BadParameter(f"{value!r} is not a Kubernetes name (lower-case, digits, '-')")
    return value


def _labels(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    labels = tuple(part.strip() for part in value.split(",") if part.strip())
    for label in labels:
        if not LABEL_NAME_RE.match(label) or label.startswith("__"):
            raise click.BadParameter(f"{label!r} is not a Prometheus label name")
    return labels


def _objectives(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    found: dict[str, float] = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            objective = float(number)
        except ValueError:
            objective = -1.0
        if not sep or not name or not 0 < objective < 1:
            raise click.BadParameter(
                f"{value!r}: expected NAME=OBJECTIVE with OBJECTIVE between 0 and 1 "
                "(api-availability=0.995)"
            )
        found[name] = objective
    return found


@click.group()
def monitoring() -> None:
    """Generate and check the Prometheus, Alertmanager and Grafana configs."""


@monitoring.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root to write monitoring/… and docs/metrics.md under.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing files that differ.")
@click.option(
    "--target",
    "targets",
    envvar="BOSS_MONITORING__TARGET",
    show_envvar=True,
    multiple=True,
    metavar="HOST:PORT",
    help="A boss replica to scrape (repeatable). Default boss:8000.",
)
@click.option(
    "--targets-file",
    envvar="BOSS_MONITORING__TARGETS_FILE",
    show_envvar=True,
    metavar="PATH",
    help="Scrape the replicas listed in a file_sd file.",
)
@click.option(
    "--scrape-config-file",
    "scrape_config_files",
    envvar="BOSS_MONITORING__SCRAPE_CONFIG_FILE",
    show_envvar=True,
    multiple=True,
    metavar="PATH",
    help="A file of further scrape configs (other apps in the same Prometheus; repeatable).",
)
@click.option(
    "--job",
    envvar="BOSS_MONITORING__JOB",
    show_envvar=True,
    default="boss",
    show_default=True,
    help="Scrape job of boss's replicas; every generated rule and panel selects only it.",
)
@click.option(
    "--deployment-labels",
    envvar="BOSS_MONITORING__DEPLOYMENT_LABELS",
    show_envvar=True,
    default="cluster,environment",
    show_default=True,
    callback=_labels,
    metavar="LABEL,...",
    help="Labels that tell deployments apart: alerts keep them, Alertmanager groups by them.",
)
@click.option(
    "--cluster",
    envvar="BOSS_MONITORING__CLUSTER",
    show_envvar=True,
    default="boss",
    show_default=True,
    help="'cluster' external label.",
)
@click.option(
    "--environment",
    envvar="BOSS_MONITORING__ENVIRONMENT",
    show_envvar=True,
    default="production",
    show_default=True,
    help="'environment' external label.",
)
@click.option(
    "--scrape-interval",
    envvar="BOSS_MONITORING__SCRAPE_INTERVAL",
    show_envvar=True,
    default="15s",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--evaluation-interval",
    envvar="BOSS_MONITORING__EVALUATION_INTERVAL",
    show_envvar=True,
    default="15s",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--alertmanager",
    envvar="BOSS_MONITORING__ALERTMANAGER",
    show_envvar=True,
    default="alertmanager:9093",
    show_default=True,
    metavar="HOST:PORT",
)
@click.option(
    "--prometheus",
    envvar="BOSS_MONITORING__PROMETHEUS",
    show_envvar=True,
    default="localhost:9090",
    show_default=True,
    metavar="HOST:PORT",
    help="Where Prometheus scrapes itself.",
)
@click.option(
    "--grafana",
    envvar="BOSS_MONITORING__GRAFANA",
    show_envvar=True,
    default="grafana:3000",
    show_default=True,
    metavar="HOST:PORT",
)
@click.option(
    "--prometheus-url",
    envvar="BOSS_MONITORING__PROMETHEUS_URL",
    show_envvar=True,
    default="http://prometheus:9090",
    show_default=True,
    help="URL of the Grafana datasource.",
)
@click.option(
    "--metrics-token-file",
    envvar="BOSS_MONITORING__METRICS_TOKEN_FILE",
    show_envvar=True,
    metavar="PATH",
    help="Bearer token file for /metrics.",
)
@click.option(
    "--remote-write-url",
    envvar="BOSS_MONITORING__REMOTE_WRITE_URL",
    show_envvar=True,
    metavar="URL",
    help="Remote-write long-term storage URL.",
)
@click.option(
    "--remote-write-token-file",
    envvar="BOSS_MONITORING__REMOTE_WRITE_TOKEN_FILE",
    show_envvar=True,
    metavar="PATH",
    help="Bearer token file for it.",
)
@click.option(
    "--discord-webhook-file",
    "webhook_files",
    envvar="BOSS_MONITORING__DISCORD_WEBHOOK_FILE",
    show_envvar=True,
    multiple=True,
    metavar="SEVERITY=PATH",
    callback=_webhooks,
    help=f"Discord webhook URL file per severity (or all=PATH). Default {DEFAULT_WEBHOOK_FILE}.",
)
@click.option(
    "--group-wait-critical",
    envvar="BOSS_MONITORING__GROUP_WAIT_CRITICAL",
    show_envvar=True,
    default="0s",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--group-wait-warning",
    envvar="BOSS_MONITORING__GROUP_WAIT_WARNING",
    show_envvar=True,
    default="30s",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--group-wait-info",
    envvar="BOSS_MONITORING__GROUP_WAIT_INFO",
    show_envvar=True,
    default="5m",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--group-interval",
    envvar="BOSS_MONITORING__GROUP_INTERVAL",
    show_envvar=True,
    default="5m",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--repeat-interval",
    envvar="BOSS_MONITORING__REPEAT_INTERVAL",
    show_envvar=True,
    default="12h",
    show_default=True,
    callback=_duration,
)
@click.option(
    "--prometheus-external-url",
    envvar="BOSS_MONITORING__PROMETHEUS_EXTERNAL_URL",
    show_envvar=True,
    metavar="URL",
    help="Prometheus as ops reach it: notifications link each alert's source there.",
)
@click.option(
    "--alertmanager-external-url",
    envvar="BOSS_MONITORING__ALERTMANAGER_EXTERNAL_URL",
    show_envvar=True,
    metavar="URL",
    help="Alertmanager as ops reach it: notifications carry a silence link there.",
)
@click.option(
    "--deadmans-switch-url-file",
    envvar="BOSS_MONITORING__DEADMANS_SWITCH_URL_FILE",
    show_envvar=True,
    metavar="PATH",
    help="File with the dead man's switch URL the Watchdog alert pings (never Discord).",
)
@click.option(
    "--runbook-url-base",
    envvar="BOSS_MONITORING__RUNBOOK_URL_BASE",
    show_envvar=True,
    default="docs/runbooks",
    show_default=True,
    help="Prefix of runbook_url annotations. Required in production: set your repository's web "
    "URL of docs/runbooks (relative links are not clickable in Discord).",
)
@click.option(
    "--slo-objective",
    "slo_objectives",
    envvar="BOSS_MONITORING__SLO_OBJECTIVE",
    show_envvar=True,
    multiple=True,
    metavar="NAME=OBJECTIVE",
    callback=_objectives,
    help="Override an SLO's objective without touching code (repeatable): api-availability=0.995.",
)
@click.option(
    "--runbooks-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Runbook overrides: a page here wins over the one the alert's plugin ships in its "
    "package; every runbook used is written to OUT/docs/runbooks [default: OUT/docs/runbooks].",
)
@click.option(
    "--kubernetes-namespace",
    envvar="BOSS_MONITORING__KUBERNETES_NAMESPACE",
    show_envvar=True,
    default="boss",
    show_default=True,
    callback=_dns_label,
    help="Namespace of the objects in monitoring/kubernetes/.",
)
@click.option(
    "--kubernetes-label",
    "kubernetes_labels",
    envvar="BOSS_MONITORING__KUBERNETES_LABEL",
    show_envvar=True,
    multiple=True,
    metavar="KEY=VALUE",
    callback=_label_map,
    help="Label the Prometheus Operator selects on, on every generated object (repeatable). "
    "Default release=kube-prometheus-stack.",
)
@click.option(
    "--kubernetes-selector",
    envvar="BOSS_MONITORING__KUBERNETES_SELECTOR",
    show_envvar=True,
    multiple=True,
    metavar="KEY=VALUE",
    callback=_label_map,
    help="Label of boss's Service the ServiceMonitor selects (repeatable). "
    "Default app.kubernetes.io/name=boss.",
)
@click.option(
    "--kubernetes-metrics-port",
    envvar="BOSS_MONITORING__KUBERNETES_METRICS_PORT",
    show_envvar=True,
    default="http",
    show_default=True,
    help="Name of the Service port serving /metrics.",
)
@click.option(
    "--kubernetes-metrics-secret",
    envvar="BOSS_MONITORING__KUBERNETES_METRICS_SECRET",
    show_envvar=True,
    default="boss-metrics",
    show_default=True,
    callback=_dns_label,
    help="Secret (key 'token') with the /metrics bearer token (with --metrics-token-file).",
)
@click.option(
    "--kubernetes-alertmanager-secret",
    envvar="BOSS_MONITORING__KUBERNETES_ALERTMANAGER_SECRET",
    show_envvar=True,
    default="boss-alertmanager",
    show_default=True,
    callback=_dns_label,
    help="Secret with the Discord webhook URLs, one key per webhook file name.",
)
def build(
    out: Path,
    check: bool,
    targets: tuple[str, ...],
    targets_file: str | None,
    scrape_config_files: tuple[str, ...],
    job: str,
    deployment_labels: tuple[str, ...],
    cluster: str,
    environment: str,
    scrape_interval: str,
    evaluation_interval: str,
    alertmanager: str,
    prometheus: str,
    grafana: str,
    prometheus_url: str,
    metrics_token_file: str | None,
    remote_write_url: str | None,
    remote_write_token_file: str | None,
    webhook_files: dict[str, str],
    group_wait_critical: str,
    group_wait_warning: str,
    group_wait_info: str,
    group_interval: str,
    repeat_interval: str,
    prometheus_external_url: str | None,
    alertmanager_external_url: str | None,
    deadmans_switch_url_file: str | None,
    runbook_url_base: str,
    slo_objectives: dict[str, float],
    runbooks_dir: Path | None,
    kubernetes_namespace: str,
    kubernetes_labels: dict[str, str] | None,
    kubernetes_selector: dict[str, str] | None,
    kubernetes_metrics_port: str,
    kubernetes_metrics_secret: str,
    kubernetes_alertmanager_secret: str,
) -> None:
    """Validate every installed plugin's fragments and render the monitoring configs."""
    if runbooks_dir is None:
        runbooks_dir = out / "docs" / "runbooks"
    defaults = BuildOptions()
    opts = BuildOptions(
        targets=targets or ("boss:8000",),
        targets_file=targets_file,
        scrape_config_files=scrape_config_files,
        job=job,
        deployment_labels=deployment_labels,
        cluster=cluster,
        environment=environment,
        scrape_interval=scrape_interval,
        evaluation_interval=evaluation_interval,
        alertmanager=alertmanager,
        prometheus=prometheus,
        grafana=grafana,
        prometheus_url=prometheus_url,
        metrics_token_file=metrics_token_file,
        remote_write_url=remote_write_url,
        remote_write_token_file=remote_write_token_file,
        webhook_files=webhook_files,
        group_wait_critical=group_wait_critical,
        group_wait_warning=group_wait_warning,
        group_wait_info=group_wait_info,
        group_interval=group_interval,
        repeat_interval=repeat_interval,
        prometheus_external_url=prometheus_external_url,
        alertmanager_external_url=alertmanager_external_url,
        deadmans_switch_url_file=deadmans_switch_url_file,
        runbook_url_base=runbook_url_base,
        runbooks_dir=runbooks_dir,
        kubernetes_namespace=kubernetes_namespace,
        kubernetes_metrics_port=kubernetes_metrics_port,
        kubernetes_metrics_secret=kubernetes_metrics_secret,
        kubernetes_alertmanager_secret=kubernetes_alertmanager_secret,
        kubernetes_labels=kubernetes_labels or defaults.kubernetes_labels,
        kubernetes_selector=kubernetes_selector or defaults.kubernetes_selector,
        slo_objectives=slo_objectives,
    )
    settings = settings_or_exit()
    try:
        loaded = load_fragments(settings)
        files = render(loaded, opts)
    except (BuildError, ToolMissingError) as exc:
        fail(str(exc))
    names = ", ".join(item.name for item in loaded)
    if check:
        differ = drift(files, out)
        if differ:
            click.echo(
                "boss: generated files are out of date (run `boss monitoring build`):", err=True
            )
            for rel in differ:
                click.echo(f"  {rel}", err=True)
            raise SystemExit(1)
        click.echo(f"monitoring: {len(files)} files up to date (plugins: {names})")
        return
    changed = write(files, out)
    click.echo(
        f"monitoring: wrote {len(changed)} changed of {len(files)} files under {out} "
        f"(plugins: {names})"
    )
    for rel in changed:
        click.echo(f"  {rel}")


@monitoring.command("check")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root holding monitoring/.",
)
def check_command(out: Path) -> None:
    """Run promtool check config/rules, promtool test rules, amtool check-config, and validate
    the Kubernetes objects (generated and deploy/kubernetes) against their schemas."""
    if not (out / "monitoring" / "prometheus" / "prometheus.yml").is_file():
        fail(f"no generated files under {out / 'monitoring'}: run `boss monitoring build` first")
    try:
        results = run_checks(out) + kubernetes_checks(out)
    except ToolMissingError as exc:
        fail(str(exc))
    failed = False
    for result in results:
        click.echo(f"{'ok  ' if result.ok else 'FAIL'} {result.name}")
        if not result.ok:
            failed = True
            click.echo("     " + " ".join(result.command))
            for line in result.output.strip().splitlines():
                click.echo(f"     {line}")
    if failed:
        raise SystemExit(1)
