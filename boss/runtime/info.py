"""Build and plugin information series: which versions run where, and when they changed."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from boss.loader import LoadedPlugin
from boss.metrics_registry import MetricHandles

__all__ = ("UNKNOWN", "distribution_version", "record_build_info")

UNKNOWN = "unknown"
"""Label value for a version or distribution that cannot be found (plugins passed in code)."""


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name``, or ``unknown``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return UNKNOWN


def record_build_info(handles: MetricHandles, loaded: Sequence[LoadedPlugin]) -> None:
    """Set ``boss_build_info``, ``python_info`` and one ``boss_plugin_info`` per plugin to 1."""
    handles.gauge("boss_build_info").labels(
        distribution_version("boss"), platform.python_version(), distribution_version("litestar")
    ).set(1)
    major, minor, patchlevel = platform.python_version_tuple()
    handles.gauge("python_info").labels(
        platform.python_implementation(), major, minor, patchlevel, platform.python_version()
    ).set(1)
    plugin_info = handles.gauge("boss_plugin_info")
    for item in loaded:
        dist = item.distribution or ("boss" if item.name == "core" else "")
        plugin_info.labels(
            item.name,
            item.version or (distribution_version(dist) if dist else UNKNOWN),
            dist or UNKNOWN,
        ).set(1)
