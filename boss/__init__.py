"""boss: a team's task workflow service whose features are plugins with their own metrics,
alerts and dashboard panels. This module re-exports the public surface plugin authors use.
"""

from __future__ import annotations

from boss._specs import (
    SLO,
    AlertRule,
    AlertTest,
    ExpectedAlert,
    LatencySLI,
    MetricSpec,
    Panel,
    Query,
    RatioSLI,
    RecordingRule,
    RuleTest,
    Series,
    Threshold,
)
from boss.cache import Cache
from boss.plugin import BossPlugin, PluginContext, Services

__all__ = (
    "SLO",
    "AlertRule",
    "AlertTest",
    "BossPlugin",
    "Cache",
    "ExpectedAlert",
    "LatencySLI",
    "MetricSpec",
    "Panel",
    "PluginContext",
    "Query",
    "RatioSLI",
    "RecordingRule",
    "RuleTest",
    "Series",
    "Services",
    "Threshold",
)
