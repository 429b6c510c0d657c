"""Render ``monitoring/kubernetes/``: the Prometheus Operator's and Grafana sidecar's objects.

Everything here is derived from the already rendered plain files (rule files, dashboard
JSON, ``alertmanager.yml``), never from the fragments again: whatever the rest of the build
changes in those files, the PrometheusRules, dashboard ConfigMaps and AlertmanagerConfig
carry the same rules, the same dashboard bytes and the same routing.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

import yaml

from boss.monitoring.errors import BuildError
from boss.monitoring.options import BuildOptions
from boss.monitoring.yamlout import GENERATED_NOTE, dump_yaml

__all__ = (
    "CONFIGMAP_MAX_BYTES",
    "KUBERNETES_DIR",
    "alertmanager_config",
    "dashboard_configmap",
    "kubernetes_files",
    "kubernetes_objects",
    "prometheus_rule",
    "service_monitor",
)

KUBERNETES_DIR = "monitoring/kubernetes"
CONFIGMAP_MAX_BYTES = 1024 * 1024
"""The API server rejects a ConfigMap whose keys and values add up to more than 1 MiB."""

_RULES = "monitoring/prometheus/rules/"
_DASHBOARDS = "monitoring/grafana/dashboards/"
_ALERTMANAGER = "monitoring/alertmanager/alertmanager.yml"
_MONITORING_V1 = "monitoring.coreos.com/v1"
_MONITORING_V1ALPHA1 = "monitoring.coreos.com/v1alpha1"
_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def _dns_name(*parts: str) -> str:
    """A DNS-1123 object name from ``parts`` (plugin names may hold ``_``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return name[:253].rstrip("-")


def _metadata(name: str, opts: BuildOptions, **labels: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": opts.kubernetes_namespace,
        "labels": dict(sorted({**opts.kubernetes_labels, **labels}.items())),
    }


def prometheus_rule(name: str, rules_text: str, opts: BuildOptions) -> dict[str, Any]:
    """A PrometheusRule whose ``spec.groups`` are exactly the groups of one rule file."""
    groups = yaml.safe_load(rules_text)["groups"]
    return {
        "apiVersion": _MONITORING_V1,
        "kind": "PrometheusRule",
        "metadata": _metadata(
            _dns_name("boss", name), opts, **{"app.kubernetes.io/part-of": "boss"}
        ),
        "spec": {"groups": groups},
    }


def service_monitor(opts: BuildOptions) -> dict[str, Any]:
    """A ServiceMonitor for boss's metrics port: one target per pod, ``job`` set to opts.job."""
    endpoint: dict[str, Any] = {
        "port": opts.kubernetes_metrics_port,
        "path": opts.metrics_path,
        "interval": opts.scrape_interval,
        "scheme": "http",
        "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": opts.job}],
    }
    if opts.metrics_token_file:
        endpoint["authorization"] = {
            "type": "Bearer",
            "credentials": {"name": opts.kubernetes_metrics_secret, "key": "token"},
        }
    return {
        "apiVersion": _MONITORING_V1,
        "kind": "ServiceMonitor",
        "metadata": _metadata(_dns_name(opts.job), opts, **{"app.kubernetes.io/part-of": "boss"}),
        "spec": {
            "selector": {"matchLabels": dict(sorted(opts.kubernetes_selector.items()))},
            "namespaceSelector": {"matchNames": [opts.kubernetes_namespace]},
            "endpoints": [endpoint],
        },
    }


def dashboard_configmap(file_name: str, text: str, opts: BuildOptions) -> dict[str, Any]:
    """A ConfigMap Grafana's dashboard sidecar loads (label ``grafana_dashboard: "1"``).

    It carries the dashboard file's exact text; a dashboard too large for one ConfigMap
    fails the build (the API server would refuse it at apply time).
    """
    json.loads(text)  # the build's own JSON; a failure here is a bug, not user input
    size = len(file_name) + len(text.encode())
    if size > CONFIGMAP_MAX_BYTES:
        raise BuildError(
            [
                f"dashboard {file_name}: {size} bytes do not fit in one ConfigMap "
                f"(limit {CONFIGMAP_MAX_BYTES}); split the dashboard"
            ]
        )
    meta = _metadata(
        _dns_name("boss-dashboard", file_name.removesuffix(".json")),
        opts,
        grafana_dashboard="1",
        **{"app.kubernetes.io/part-of": "boss"},
    )
    meta["annotations"] = {"grafana_folder": "boss"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {file_name: text}}


def _matcher(text: str) -> dict[str, str]:
    match = _MATCHER.match(text)
    if not match:
        raise BuildError([f"alertmanager.yml: cannot translate matcher {text!r}"])
    name, op, value = match.groups()
    if value.startswith('"'):
        value = json.loads(value)
    return {"name": name, "matchType": op, "value": value}


def _matchers(entry: Mapping[str, Any], new: str, eq: str, regex: str) -> list[dict[str, str]]:
    """``*_matchers`` strings and the older ``match``/``match_re`` maps, as CRD matchers."""
    out = [_matcher(text) for text in entry.get(new, ())]
    out += [{"name": k, "matchType": "=", "value": v} for k, v in entry.get(eq, {}).items()]
    out += [{"name": k, "matchType": "=~", "value": v} for k, v in entry.get(regex, {}).items()]
    return out


_ROUTE_KEYS = {
    "receiver": "receiver",
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "continue": "continue",
}


def _route(route: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key in _ROUTE_KEYS:
            out[_ROUTE_KEYS[key]] = value
        elif key not in ("matchers", "match", "match_re", "routes"):
            raise BuildError(
                [f"alertmanager.yml: route key {key!r} has no AlertmanagerConfig form"]
            )
    matchers = _matchers(route, "matchers", "match", "match_re")
    if matchers:
        out["matchers"] = matchers
    if route.get("routes"):
        out["routes"] = [_route(child) for child in route["routes"]]
    return out


def _inhibit(rule: Mapping[str, Any]) -> dict[str, Any]:
    known = {"source_matchers", "target_matchers", "source_match", "target_match"}
    known |= {"source_match_re", "target_match_re", "equal"}
    for key in rule:
        if key not in known:
            raise BuildError([f"alertmanager.yml: inhibit rule key {key!r} is not translated"])
    out: dict[str, Any] = {
        "sourceMatch": _matchers(rule, "source_matchers", "source_match", "source_match_re"),
        "targetMatch": _matchers(rule, "target_matchers", "target_match", "target_match_re"),
    }
    if rule.get("equal"):
        out["equal"] = list(rule["equal"])
    return out


def _secret_key(path: str, field: str) -> str:
    key = posixpath.basename(path)
    if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
        raise BuildError([f"alertmanager.yml: {field} {path!r} does not name a Secret key"])
    return key


def _check_secret_keys(receivers: Any) -> None:
    """Two different secret files must not become the same key of the one Secret."""
    paths: dict[str, str] = {}
    for receiver in receivers:
        for key in ("discord_configs", "webhook_configs"):
            for config in receiver.get(key) or ():
                for field in ("webhook_url_file", "url_file"):
                    if field in config:
                        path = config[field]
                        other = paths.setdefault(posixpath.basename(path), path)
                        if other != path:
                            raise BuildError(
                                [
                                    f"alertmanager.yml: secret files {other!r} and {path!r} "
                                    "would share one Secret key; give them different file names"
                                ]
                            )


def _discord(config: Mapping[str, Any], secret: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "webhook_url_file":
            out["apiURL"] = {"name": secret, "key": _secret_key(value, key)}
        elif key == "send_resolved":
            out["sendResolved"] = value
        elif key in ("title", "message"):
            out[key] = value
        else:
            raise BuildError([f"alertmanager.yml: discord_configs key {key!r} is not translated"])
    return dict(sorted(out.items()))


def _webhook(config: Mapping[str, Any], secret: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "url_file":
            out["urlSecret"] = {"name": secret, "key": _secret_key(value, key)}
        elif key == "url":
            out["url"] = value
        elif key == "send_resolved":
            out["sendResolved"] = value
        elif key == "max_alerts":
            out["maxAlerts"] = value
        else:
            raise BuildError([f"alertmanager.yml: webhook_configs key {key!r} is not translated"])
    return dict(sorted(out.items()))


def _receiver(receiver: Mapping[str, Any], secret: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver["name"]}
    for key, value in receiver.items():
        if key == "discord_configs":
            out["discordConfigs"] = [_discord(c, secret) for c in value]
        elif key == "webhook_configs":
            out["webhookConfigs"] = [_webhook(c, secret) for c in value]
        elif key != "name":
            raise BuildError([f"alertmanager.yml: receiver key {key!r} is not translated"])
    return out


def alertmanager_config(alertmanager_text: str, opts: BuildOptions) -> dict[str, Any]:
    """An AlertmanagerConfig (v1alpha1) with alertmanager.yml's routes, inhibitions, receivers.

    ``global`` settings belong to the Alertmanager resource itself and are left out. The
    operator confines the route and the inhibitions to alerts of this namespace by adding a
    ``namespace`` matcher; file-based secrets become keys of one Secret.
    """
    config = yaml.safe_load(alertmanager_text)
    for key in config:
        if key not in ("global", "route", "inhibit_rules", "receivers"):
            raise BuildError([f"alertmanager.yml: top-level key {key!r} is not translated"])
    secret = opts.kubernetes_alertmanager_secret
    _check_secret_keys(config.get("receivers") or ())
    spec: dict[str, Any] = {"route": _route(config["route"])}
    if config.get("inhibit_rules"):
        spec["inhibitRules"] = [_inhibit(rule) for rule in config["inhibit_rules"]]
    spec["receivers"] = [_receiver(r, secret) for r in config.get("receivers", ())]
    return {
        "apiVersion": _MONITORING_V1ALPHA1,
        "kind": "AlertmanagerConfig",
        "metadata": _metadata("boss", opts, **{"app.kubernetes.io/part-of": "boss"}),
        "spec": spec,
    }


def kubernetes_objects(files: Mapping[str, str], opts: BuildOptions) -> dict[str, dict[str, Any]]:
    """Every generated object, keyed by the path it is written to."""
    objects: dict[str, dict[str, Any]] = {}
    for rel, text in sorted(files.items()):
        if rel.startswith(_RULES) and rel.endswith(".yml"):
            name = rel.removeprefix(_RULES).removesuffix(".yml")
            objects[f"{KUBERNETES_DIR}/prometheusrule-{_dns_name(name)}.yaml"] = prometheus_rule(
                name, text, opts
            )
        elif rel.startswith(_DASHBOARDS) and rel.endswith(".json"):
            name = rel.removeprefix(_DASHBOARDS)
            path = f"{KUBERNETES_DIR}/dashboard-{_dns_name(name.removesuffix('.json'))}.yaml"
            objects[path] = dashboard_configmap(name, text, opts)
    objects[f"{KUBERNETES_DIR}/servicemonitor.yaml"] = service_monitor(opts)
    if _ALERTMANAGER in files:
        objects[f"{KUBERNETES_DIR}/alertmanagerconfig.yaml"] = alertmanager_config(
            files[_ALERTMANAGER], opts
        )
    return dict(sorted(objects.items()))


_NOTES = {
    "PrometheusRule": "exactly the groups of the matching monitoring/prometheus/rules file.",
    "ServiceMonitor": "the Prometheus Operator scrapes every boss pod behind the Service.",
    "ConfigMap": "the dashboard JSON for Grafana's sidecar (label grafana_dashboard).",
    "AlertmanagerConfig": (
        "alertmanager.yml's routes, inhibitions and receivers.\n"
        "The operator adds a namespace matcher: set the Alertmanager resource's\n"
        "alertmanagerConfigMatcherStrategy.type to None, or enforcedNamespaceLabel on\n"
        "Prometheus, so aggregated alerts (no namespace label) are routed (docs/deploy.md)."
    ),
}


def kubernetes_files(files: Mapping[str, str], opts: BuildOptions) -> dict[str, str]:
    """The texts of ``monitoring/kubernetes/``: one object per file, every file an API object
    (no kustomization), so ``kubectl apply --server-side -f monitoring/kubernetes/`` and any
    validator can take the folder as it is."""
    objects = kubernetes_objects(files, opts)
    out: dict[str, str] = {}
    for rel, obj in objects.items():
        what = f"{obj['kind']} {obj['metadata']['name']}: {_NOTES[obj['kind']]}"
        out[rel] = dump_yaml(obj, f"{GENERATED_NOTE}\n{what}")
    return dict(sorted(out.items()))
