"""Every PromQL expression the generated monitoring files hold, with where it came from.

The test evaluates what the build actually wrote (rules files and dashboard JSON), not the
plugins' fragments, so a rendering bug (escaping, label injection) shows up here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = ("GeneratedQuery", "dashboard_queries", "grafana_to_promql", "rule_queries")

QueryKind = Literal["alert", "record", "panel"]

GRAFANA_MACROS = {
    "$__rate_interval": "1m",
    "${__rate_interval}": "1m",
    "$__interval": "15s",
    "${__interval}": "15s",
    "$__range": "5m",
    "${__range}": "5m",
}
"""Grafana's built-in variables with the values Grafana would put in at a 30 s refresh."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


@dataclass(frozen=True)
class GeneratedQuery:
    """One expression: its kind, a human label (file, group, rule or panel title), the PromQL."""

    kind: QueryKind
    where: str
    expr: str

    def describe(self) -> str:
        """``panel 'HTTP request rate' in boss.json: sum(...)`` for failure messages."""
        return f"{self.kind} {self.where}: {self.expr}"


def rule_queries(rules_dir: Path) -> list[GeneratedQuery]:
    """Alert and recording-rule expressions from every ``*.yml`` rules file in ``rules_dir``."""
    found: list[GeneratedQuery] = []
    for path in sorted(rules_dir.glob("*.y*ml")):
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups") or []:
            for rule in group.get("rules") or []:
                kind: QueryKind = "alert" if "alert" in rule else "record"
                name = rule.get("alert") or rule.get("record")
                where = f"{name!r} (group {group.get('name')!r} in {path.name})"
                found.append(GeneratedQuery(kind, where, str(rule["expr"])))
    return found


def _panels(node: Any) -> Iterator[dict[str, Any]]:
    """Every panel in a dashboard, including panels nested in (collapsed) rows."""
    if isinstance(node, dict):
        if "targets" in node and isinstance(node["targets"], list):
            yield node
        for key in ("panels", "rows"):
            for child in node.get(key) or []:
                yield from _panels(child)
    elif isinstance(node, list):
        for child in node:
            yield from _panels(child)


def _variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """Dashboard template variables with the value they take by default (``.*`` when unknown)."""
    values: dict[str, str] = {}
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        name = variable.get("name")
        if not name:
            continue
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(str(v) for v in current)
        if current in (None, "", "$__all"):
            current = ".*"
        values[str(name)] = str(current)
    return values


def grafana_to_promql(expr: str, variables: dict[str, str]) -> str:
    """Replace Grafana's macros and the dashboard's variables as Grafana does before querying."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return variables.get(name, match.group(0))

    return _VARIABLE.sub(substitute, expr)


def dashboard_queries(dashboards_dir: Path) -> list[GeneratedQuery]:
    """Panel query expressions from every dashboard JSON file in ``dashboards_dir``."""
    found: list[GeneratedQuery] = []
    for path in sorted(dashboards_dir.glob("*.json")):
        document = json.loads(path.read_text())
        dashboard = document.get("dashboard", document)
        variables = _variables(dashboard)
        for panel in _panels(dashboard):
            for target in panel["targets"]:
                expr = target.get("expr")
                if not expr or target.get("hide"):
                    continue
                where = f"{panel.get('title')!r} (refId {target.get('refId')} in {path.name})"
                found.append(
                    GeneratedQuery("panel", where, grafana_to_promql(str(expr), variables))
                )
    return found
