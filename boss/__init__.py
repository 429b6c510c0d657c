"""boss: a team's task workflow service whose features are plugins with their own metrics,
alerts and dashboard panels. This module re-exports the public surface plugin authors use.
"""

from __future__ import annotations

from boss._specs import (
    AlertRule,
    AlertTest,
    ExpectedAlert,
    MetricSpec,
    Panel,
    Query,
    RecordingRule,
    RuleTest,
    Series,
    Threshold,
)
from boss.cache import Cache
from boss.plugin import BossPlugin, PluginContext, Services

__all__ = (
    "AlertRule",
    "AlertTest",
    "BossPlugin",
    "Cache",
    "ExpectedAlert",
    "MetricSpec",
    "Panel",
    "PluginContext",
    "Query",
    "RecordingRule",
    "RuleTest",
    "Series",
    "Services",
    "Threshold",
)
