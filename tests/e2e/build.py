"""Run ``boss monitoring build`` for a test stack: local targets, 1 s intervals, no waiting.

Only the build's own options shape the output — the test never edits a generated file —
so what the test proves about these files holds for what ops deploy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .boss_server import BossServer

__all__ = ("MonitoringFiles", "build_monitoring")


@dataclass(frozen=True)
class MonitoringFiles:
    """Where the build put each generated file the test uses."""

    root: Path

    @property
    def prometheus_yml(self) -> Path:
        """``monitoring/prometheus/prometheus.yml``."""
        return self.root / "monitoring" / "prometheus" / "prometheus.yml"

    @property
    def rules_dir(self) -> Path:
        """``monitoring/prometheus/rules``."""
        return self.root / "monitoring" / "prometheus" / "rules"

    @property
    def alertmanager_yml(self) -> Path:
        """``monitoring/alertmanager/alertmanager.yml``."""
        return self.root / "monitoring" / "alertmanager" / "alertmanager.yml"

    @property
    def dashboards_dir(self) -> Path:
        """``monitoring/grafana/dashboards``."""
        return self.root / "monitoring" / "grafana" / "dashboards"

    def missing(self) -> list[str]:
        """Generated paths the test needs that the build did not write."""
        wanted = (self.prometheus_yml, self.rules_dir, self.alertmanager_yml, self.dashboards_dir)
        return [str(path) for path in wanted if not path.exists()]


def build_monitoring(
    boss: BossServer,
    out: Path,
    *,
    targets: Sequence[str],
    alertmanager: str,
    prometheus: str,
    grafana: str,
    webhook_files: Mapping[str, Path],
    interval: str = "1s",
    extra: Sequence[str] = (),
) -> MonitoringFiles:
    """Build the configs into ``out`` with the installed plugins, as ``boss`` would see them."""
    args = ["monitoring", "build", "--out", str(out)]
    for target in targets:
        args += ["--target", target]
    args += [
        "--alertmanager",
        alertmanager,
        "--prometheus",
        prometheus,
        "--grafana",
        grafana,
        "--scrape-interval",
        interval,
        "--evaluation-interval",
        interval,
        "--group-wait-critical",
        "0s",
        "--group-wait-warning",
        "0s",
        "--group-wait-info",
        "0s",
        # Resolved notifications leave at the group's next flush: make it come at once.
        "--group-interval",
        interval,
        "--cluster",
        "e2e",
        "--environment",
        "e2e",
    ]
    for severity, path in webhook_files.items():
        args += ["--discord-webhook-file", f"{severity}={path}"]
    args += list(extra)
    # The build runs every rule test with promtool, the SLOs' three-day ones included: on a
    # loaded 2-core machine that alone can take over a minute.
    boss.cli(*args, timeout=600)
    files = MonitoringFiles(out)
    missing = files.missing()
    assert not missing, f"`boss {' '.join(args)}` did not write {', '.join(missing)}"
    return files
