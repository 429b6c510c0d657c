"""Render the Grafana 11 dashboard (one row per plugin) and Grafana's provisioning files.

Ids are derived from names, not counters, so adding a plugin never renumbers the panels of
another: the dashboard UID hashes the dashboard name, each panel id hashes
``plugin/panel title``. JSON has no comments, so the "generated, do not edit" note lives in
the dashboard ``description`` and in a top-level ``__generated`` key (Grafana keeps unknown
top-level keys of a provisioned dashboard and ignores them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from boss._specs import Panel, Threshold
from boss.loader import LoadedPlugin
from boss.monitoring.options import BuildOptions
from boss.monitoring.yamlout import GENERATED_NOTE, dump_json, dump_yaml

__all__ = (
    "DASHBOARD_NAME",
    "DATASOURCE_UID",
    "DEPLOY_EXPR",
    "dashboard",
    "dashboard_annotations",
    "dashboard_json",
    "dashboards_provisioning",
    "datasource_provisioning",
    "layout",
    "stable_id",
    "sub_rows",
)

DASHBOARD_NAME = "boss"
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


def _panel(plugin: str, panel: Panel, pos: dict[str, int]) -> dict[str, Any]:
    instant = panel.kind in ("piechart", "table")
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {
            "datasource": _DATASOURCE,
            "editorMode": "code",
            "expr": query.expr,
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


def sub_rows(item: LoadedPlugin) -> list[tuple[str, str, tuple[Panel, ...]]]:
    """A plugin's panels grouped by ``Panel.row``: (row, row title, panels), own row first."""
    groups: dict[str, list[Panel]] = {}
    for panel in item.plugin.panels:
        groups.setdefault(panel.row, []).append(panel)
    ordered = sorted(groups.items(), key=lambda group: group[0] != "")  # stable: "" first
    title = item.plugin.display_title
    return [(row, row or title, tuple(group)) for row, group in ordered]


DEPLOY_EXPR = (
    "max by (job, cluster, environment, instance, version)"
    " (boss_build_info unless boss_build_info offset 2m)"
)
"""A series while an instance runs a boss version it did not run two minutes earlier."""


def dashboard_annotations(loaded: Sequence[LoadedPlugin]) -> list[dict[str, Any]]:
    """Dashboard annotation queries beside Grafana's built-in one: deploys from build info.

    A deploy marks the time an instance started reporting a ``boss_build_info`` label set it
    did not report two minutes earlier (a new version, or an instance that was away).
    """
    declared = {spec.name for item in loaded for spec in item.plugin.metrics}
    if "boss_build_info" not in declared:
        return []
    return [
        {
            "datasource": _DATASOURCE,
            "enable": True,
            "expr": DEPLOY_EXPR,
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


def dashboard(loaded: Sequence[LoadedPlugin]) -> dict[str, Any]:
    """The dashboard as a JSON-ready dict: a row per plugin that has panels."""
    panels: list[dict[str, Any]] = []
    y = 0
    for item in loaded:
        for row, title, row_panels in sub_rows(item):
            panels.append(
                {
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                    "id": stable_id(item.name, "__row__", *((row,) if row else ())),
                    "panels": [],
                    "title": title,
                    "type": "row",
                }
            )
            positions, y = layout(row_panels, y + 1)
            panels.extend(
                _panel(item.name, p, pos) for p, pos in zip(row_panels, positions, strict=True)
            )
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
                *dashboard_annotations(loaded),
            ]
        },
        "description": f"boss: every installed plugin's panels, one row each. {GENERATED_NOTE}",
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["boss", "generated"],
        "templating": {
            "list": [
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
                }
            ]
        },
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {"refresh_intervals": ["10s", "30s", "1m", "5m", "15m", "1h"]},
        "timezone": "browser",
        "title": "boss",
        "uid": _uid(DASHBOARD_NAME),
        "version": 1,
        "weekStart": "",
    }


def dashboard_json(loaded: Sequence[LoadedPlugin]) -> str:
    """The dashboard file text."""
    return dump_json(dashboard(loaded))


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
