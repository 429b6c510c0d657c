"""Small clients for the Prometheus and Alertmanager HTTP APIs the end-to-end test reads."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ("AlertmanagerApi", "PrometheusApi", "QueryError")

TIMEOUT = 5.0


class QueryError(AssertionError):
    """Prometheus rejected a query; the message carries the query and Prometheus's error."""


class PrometheusApi:
    """``/api/v1`` of one Prometheus server: targets, instant queries, rules and alerts."""

    __slots__ = ("base_url", "client")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=TIMEOUT)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    def ready(self) -> bool:
        """Whether ``/-/ready`` answers 200 (config loaded, TSDB open)."""
        return self.client.get("/-/ready").status_code == 200

    def _data(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = self.client.get(path, params=params)
        body = response.json()
        if body.get("status") != "success":
            raise QueryError(
                f"GET {path} {params or ''}: {body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets, each with ``labels``, ``health`` and ``lastError``."""
        active: list[dict[str, Any]] = self._data("/api/v1/targets", {"state": "active"})[
            "activeTargets"
        ]
        return active

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Evaluate ``expr`` now (or at Unix time ``at``); a list of ``{"metric", "value"}``.

        Range selectors come back as ``{"metric", "values"}`` with every sample's timestamp.
        Scalars and strings come back as one sample without labels. Errors (parse errors,
        unknown functions, many-to-many matches) raise ``QueryError`` naming the query.
        """
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        response = self.client.get("/api/v1/query", params=params)
        try:
            body = response.json()
        except ValueError as exc:
            raise QueryError(f"query {expr!r}: HTTP {response.status_code}, not JSON") from exc
        if body.get("status") != "success":
            raise QueryError(f"query {expr!r} failed: {body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The single value ``expr`` evaluates to now (or at ``at``), ``None`` if it has none."""
        result = self.query(expr, at)
        if not result:
            return None
        if len(result) > 1:
            raise QueryError(f"query {expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def rule_groups(self) -> list[dict[str, Any]]:
        """Loaded rule groups with each rule's ``health`` and ``lastError``."""
        groups: list[dict[str, Any]] = self._data("/api/v1/rules")["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts, each with ``labels`` and ``state``."""
        alerts: list[dict[str, Any]] = self._data("/api/v1/alerts")["alerts"]
        return alerts


class AlertmanagerApi:
    """``/api/v2`` of one Alertmanager: readiness and the alerts it holds."""

    __slots__ = ("base_url", "client")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=TIMEOUT)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    def ready(self) -> bool:
        """Whether ``/-/ready`` answers 200."""
        return self.client.get("/-/ready").status_code == 200

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager currently holds (active, silenced or inhibited)."""
        response = self.client.get("/api/v2/alerts")
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts
