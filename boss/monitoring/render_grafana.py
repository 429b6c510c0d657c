"""Render the Grafana 11 dashboard (one row per plugin) and Grafana's provisioning files.

Ids are derived from names, not counters, so adding a plugin never renumbers the panels of
another: the dashboard UID hashes the dashboard name, each panel id hashes
``plugin/panel title``. JSON has no comments, so the "generated, do not edit" note lives in
the dashboard ``description`` and in a top-level ``__generated`` key (Grafana keeps unknown
top-level keys of a provisioned dashboard and ignores them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from boss._specs import Panel, Threshold
from boss.loader import LoadedPlugin
from boss.monitoring.options import BuildOptions
from boss.monitoring.promql import PromQLReadError, read_query
from boss.monitoring.render_prometheus import runbook_url
from boss.monitoring.scoping import Scope, panel_scope, scope_expr
from boss.monitoring.yamlout import GENERATED_NOTE, dump_json, dump_yaml

__all__ = (
    "DASHBOARD_NAME",
    "DATASOURCE_UID",
    "DEPLOY_EXPR",
    "INSTANCE_DASHBOARD",
    "dashboard",
    "dashboard_annotations",
    "dashboard_json",
    "dashboards_provisioning",
    "datasource_provisioning",
    "deploy_expr",
    "instance_dashboard",
    "layout",
    "stable_id",
    "variables",
)

DASHBOARD_NAME = "boss"
INSTANCE_DASHBOARD = "boss-instances"
_HISTOGRAM = ("_bucket", "_sum", "_count")
DATASOURCE_UID = "boss-prometheus"
GRID_WIDTH = 24
SCHEMA_VERSION = 39  # Grafana 11.0; later 11.x releases migrate it on load
DASHBOARDS_PATH = "/etc/grafana/dashboards"
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def stable_id(*parts: str) -> int:
    """A positive 31-bit integer derived from ``parts`` (Grafana panel ids are integers)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _uid(name: str) -> str:
    return "boss-" + hashlib.sha256(f"dashboard/{name}".encode()).hexdigest()[:12]


def layout(panels: Sequence[Panel], top: int) -> tuple[list[dict[str, int]], int]:
    """Skyline packing: each panel, in declaration order, goes where it sits highest.

    Every column keeps the ``y`` where it is free; a panel of width ``w`` lands at the
    left-most ``x`` whose ``w`` columns are free the earliest, on top of the tallest of them,
    so panels never overlap and small stat panels fill the gaps beside large graphs.
    Returns each panel's ``gridPos`` and the first ``y`` below all of them.
    """
    free = [top] * GRID_WIDTH
    positions: list[dict[str, int]] = []
    for panel in panels:
        w = min(max(panel.width, 1), GRID_WIDTH)
        y, x = min((max(free[x : x + w]), x) for x in range(GRID_WIDTH - w + 1))
        positions.append({"h": panel.height, "w": w, "x": x, "y": y})
        free[x : x + w] = [y + panel.height] * w
    return positions, max(free)


def _steps(thresholds: Sequence[Threshold]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"color": t.color, "value": t.value} for t in thresholds]
    if not steps or steps[0]["value"] is not None:
        steps.insert(0, {"color": "green", "value": None})
    return steps


def _reduce() -> dict[str, Any]:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def _options(panel: Panel) -> dict[str, Any]:
    tooltip = {"mode": "multi", "sort": "desc"}
    if panel.kind == "timeseries":
        return {
            "legend": {
                "calcs": ["mean", "max", "lastNotNull"],
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": tooltip,
        }
    if panel.kind == "piechart":
        return {
            "reduceOptions": _reduce(),
            "pieType": "pie",
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "values": ["value", "percent"],
            },
            "tooltip": {"mode": "single", "sort": "none"},
            "displayLabels": ["name"],
        }
    if panel.kind == "stat":
        return {
            "reduceOptions": _reduce(),
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        }
    if panel.kind == "gauge":
        return {
            "reduceOptions": _reduce(),
            "orientation": "auto",
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
        }
    if panel.kind == "bargauge":
        return {
            "reduceOptions": _reduce(),
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
        }
    return {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}


def _field_defaults(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": panel.unit,
        "thresholds": {"mode": "absolute", "steps": _steps(panel.thresholds)},
        "mappings": [],
    }
    if panel.decimals is not None:
        defaults["decimals"] = panel.decimals
    if panel.kind == "timeseries":
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "gradientMode": "none",
            "showPoints": "never",
            "spanNulls": False,
            "axisPlacement": "auto",
            "thresholdsStyle": {"mode": "line" if panel.thresholds else "off"},
        }
    elif panel.kind in ("piechart", "table"):
        defaults["color"] = {"mode": "palette-classic"}
    else:
        defaults["color"] = {"mode": "thresholds"}
    return defaults


def _panel(plugin: str, panel: Panel, pos: dict[str, int], scope: Scope) -> dict[str, Any]:
    instant = panel.kind in ("piechart", "table")
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {
            "datasource": _DATASOURCE,
            "editorMode": "code",
            "expr": scope_expr(query.expr, scope),
            "legendFormat": query.legend or "__auto",
            "refId": chr(ord("A") + index),
            "range": not (query.instant or instant),
            "instant": query.instant or instant,
        }
        if panel.kind == "table":
            target["format"] = "table"
        targets.append(target)
    return {
        "datasource": _DATASOURCE,
        "description": panel.description,
        "fieldConfig": {"defaults": _field_defaults(panel), "overrides": []},
        "gridPos": pos,
        "id": stable_id(plugin, panel.title),
        "options": _options(panel),
        "targets": targets,
        "title": panel.title,
        "type": panel.kind,
    }


def _variable(name: str, label: str, query: str, default: str | None) -> dict[str, Any]:
    """A multi-select query variable with an "All" option matching every value (or none)."""
    current = (
        {"selected": True, "text": [default], "value": [default]}
        if default
        else {"selected": True, "text": ["All"], "value": ["$__all"]}
    )
    return {
        "allValue": ".*",
        "current": current,
        "datasource": _DATASOURCE,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables(opts: BuildOptions) -> list[dict[str, Any]]:
    """Datasource, job, one per deployment label, and instance: every panel query uses them."""
    found = [
        {
            "current": {"selected": False, "text": "Prometheus", "value": DATASOURCE_UID},
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        _variable("job", "Job", "label_values(up, job)", opts.job),
    ]
    narrowed = 'job=~"$job"'
    for label in opts.deployment_labels:
        if label == "job":
            continue
        found.append(
            _variable(label, label.capitalize(), f"label_values(up{{{narrowed}}}, {label})", None)
        )
        narrowed += f', {label}=~"${label}"'
    found.append(
        _variable("instance", "Instance", f"label_values(up{{{narrowed}}}, instance)", None)
    )
    return found


def _rows(item: LoadedPlugin) -> dict[str, list[Panel]]:
    """The plugin's panels by row title, rows in the order their first panel is declared."""
    rows: dict[str, list[Panel]] = {}
    for panel in item.plugin.panels:
        rows.setdefault(panel.row or item.plugin.display_title, []).append(panel)
    return rows


def _row(row_id: int, title: str, y: int, repeat: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "collapsed": False,
        "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
        "id": row_id,
        "panels": [],
        "title": title,
        "type": "row",
    }
    if repeat:
        row["repeat"] = repeat
    return row


def _metrics(expr: str) -> set[str]:
    try:
        names = set(read_query(expr).metrics)
    except PromQLReadError:
        return set()
    return names | {name.rsplit("_", 1)[0] for name in names if name.endswith(_HISTOGRAM)}


def _links(panel: Panel, item: LoadedPlugin, opts: BuildOptions, scope: Scope) -> list[Any]:
    """Drill-down: the runbook of each alert reading the panel's metrics, and Explore."""
    shown = set().union(*(_metrics(q.expr) for q in panel.queries))
    records = {r.record: r.expr for r in item.plugin.recording_rules}
    links: list[dict[str, Any]] = []
    base = opts.runbook_url_base.rstrip("/")
    for alert in item.plugin.alerts:
        used = _metrics(alert.expr)
        for name in list(used):
            if name in records:
                used |= _metrics(records[name])
        if used & shown:
            links.append(
                {
                    "title": f"Runbook: {alert.name}",
                    "url": runbook_url(alert, base),
                    "targetBlank": True,
                }
            )
    pane = {
        "datasource": DATASOURCE_UID,
        "queries": [
            {
                "refId": chr(ord("A") + i),
                "expr": scope_expr(q.expr, scope),
                "datasource": _DATASOURCE,
            }
            for i, q in enumerate(panel.queries)
        ],
        "range": {"from": "now-1h", "to": "now"},
    }
    panes = json.dumps({"a": pane}, separators=(",", ":"))
    links.append(
        {"title": "Explore these queries", "url": f"/explore?schemaVersion=1&panes={quote(panes)}"}
    )
    return links


def _board_links() -> list[dict[str, Any]]:
    """Links between the boss dashboards, keeping the time range and the variables."""
    return [
        {
            "asDropdown": False,
            "icon": "external link",
            "includeVars": True,
            "keepTime": True,
            "tags": ["boss"],
            "targetBlank": False,
            "title": "boss dashboards",
            "type": "dashboards",
        }
    ]


def deploy_expr(deployment_labels: Sequence[str] = ("cluster", "environment")) -> str:
    """A series while an instance runs a boss version it did not run two minutes earlier."""
    labels = ", ".join(dict.fromkeys(("job", *deployment_labels, "instance", "version")))
    return f"max by ({labels}) (boss_build_info unless boss_build_info offset 2m)"


DEPLOY_EXPR = deploy_expr()
"""The deploy annotation's query for the default deployment labels, before panel scoping."""


def dashboard_annotations(
    loaded: Sequence[LoadedPlugin], opts: BuildOptions | None = None
) -> list[dict[str, Any]]:
    """Dashboard annotation queries beside Grafana's built-in one: deploys from build info.

    A deploy marks the time an instance started reporting a ``boss_build_info`` label set it
    did not report two minutes earlier (a new version, or an instance that was away); the
    query is scoped by the dashboard's variables like every panel's.
    """
    declared = {spec.name for item in loaded for spec in item.plugin.metrics}
    if "boss_build_info" not in declared:
        return []
    opts = opts or BuildOptions()
    return [
        {
            "datasource": _DATASOURCE,
            "enable": True,
            "expr": scope_expr(deploy_expr(opts.deployment_labels), panel_scope(opts)),
            "hide": False,
            "iconColor": "rgba(255, 152, 48, 1)",
            "name": "Deploys",
            "step": "1m",
            "tagKeys": "instance,version",
            "textFormat": "boss {{version}} on {{instance}}",
            "titleFormat": "Deploy",
            "useValueForTime": False,
        }
    ]


def dashboard(loaded: Sequence[LoadedPlugin], opts: BuildOptions | None = None) -> dict[str, Any]:
    """The dashboard as a JSON-ready dict: a row per plugin (or per area of a plugin)."""
    opts = opts or BuildOptions()
    scope = panel_scope(opts)
    panels: list[dict[str, Any]] = []
    y = 0
    for item in loaded:
        for title, members in _rows(item).items():
            row_id = (
                stable_id(item.name, "__row__")
                if title == item.plugin.display_title
                else stable_id(item.name, "__row__", title)
            )
            panels.append(_row(row_id, title, y))
            positions, y = layout(members, y + 1)
            for panel, pos in zip(members, positions, strict=True):
                entry = _panel(item.name, panel, pos, scope)
                entry["links"] = _links(panel, item, opts, scope)
                panels.append(entry)
    return _board(
        panels,
        opts,
        annotations=dashboard_annotations(loaded, opts),
        uid=_uid(DASHBOARD_NAME),
        title="boss",
        description=f"boss: every installed plugin's panels, a row per area. {GENERATED_NOTE}",
    )


def instance_dashboard(
    loaded: Sequence[LoadedPlugin], opts: BuildOptions | None = None
) -> dict[str, Any]:
    """The per-instance drill-down: every time series panel again, one row per replica."""
    opts = opts or BuildOptions()
    scope = panel_scope(opts)
    chosen = [
        (item, panel)
        for item in loaded
        for panel in item.plugin.panels
        if panel.kind == "timeseries"
    ]
    panels: list[dict[str, Any]] = [
        _row(stable_id(INSTANCE_DASHBOARD, "__row__"), "Instance $instance", 0, repeat="instance")
    ]
    positions, _ = layout([panel for _, panel in chosen], 1)
    for (item, panel), pos in zip(chosen, positions, strict=True):
        entry = _panel(item.name, panel, pos, scope)
        entry["id"] = stable_id(INSTANCE_DASHBOARD, item.name, panel.title)
        entry["title"] = f"{panel.title} ({item.plugin.display_title})"
        entry["links"] = _links(panel, item, opts, scope)
        panels.append(entry)
    return _board(
        panels,
        opts,
        annotations=dashboard_annotations(loaded, opts),
        uid=_uid(INSTANCE_DASHBOARD),
        title="boss: per instance",
        description=(
            "boss: every time series panel once per selected instance (a repeated row), to"
            f" compare replicas. {GENERATED_NOTE}"
        ),
    )


def _board(
    panels: list[dict[str, Any]],
    opts: BuildOptions,
    *,
    annotations: list[dict[str, Any]],
    uid: str,
    title: str,
    description: str,
) -> dict[str, Any]:
    return {
        "__generated": GENERATED_NOTE,
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                *annotations,
            ]
        },
        "description": description,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": _board_links(),
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["boss", "generated"],
        "templating": {"list": variables(opts)},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {"refresh_intervals": ["10s", "30s", "1m", "5m", "15m", "1h"]},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def dashboard_json(loaded: Sequence[LoadedPlugin], opts: BuildOptions | None = None) -> str:
    """The dashboard file text."""
    return dump_json(dashboard(loaded, opts))


def datasource_provisioning(opts: BuildOptions) -> str:
    """Grafana datasource provisioning: the Prometheus of the stack, with a fixed UID."""
    return dump_yaml(
        {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "uid": DATASOURCE_UID,
                    "type": "prometheus",
                    "access": "proxy",
                    "url": opts.prometheus_url,
                    "isDefault": True,
                    "editable": False,
                    "jsonData": {"timeInterval": opts.scrape_interval, "httpMethod": "POST"},
                }
            ],
        }
    )


def dashboards_provisioning() -> str:
    """Grafana dashboard provisioning: load every JSON file the build writes, read-only."""
    return dump_yaml(
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "boss",
                    "folder": "boss",
                    "type": "file",
                    "disableDeletion": True,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 30,
                    "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": False},
                }
            ],
        }
    )
