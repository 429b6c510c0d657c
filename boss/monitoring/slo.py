"""Desugar each plugin's SLOs into ordinary fragments: recording rules, alerts, rule tests, panels.

An SLO is one more declarative fragment; the build turns each SLO into a fragment-only
plugin ``slo-<name>`` (its own rule group, rule file and test file) and all SLOs' panels into
one ``slos-dashboard`` row, which then go through exactly the same validation, scoping and
rendering as every hand-written fragment. The alerts are the SRE workbook's multi-window, multi-burn-rate ones.

Every window's error ratio is computed from two 5-minute rates recorded per SLO (bad events
per second, all events per second): ``sum_over_time(bad[w]) / sum_over_time(total[w])`` is the
traffic-weighted error ratio over ``w`` and reads one series per SLO, where a raw
``rate(…[30d])`` would read every labelled child of the counters over 30 days at each
evaluation. The SLI over the compliance window (30 days) is not recorded: the dashboard's
instant queries compute it the same way when someone looks, instead of Prometheus reading
30 days of samples at every evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import msgspec

from boss._specs import (
    SLO,
    AlertRule,
    LatencySLI,
    MetricSpec,
    Panel,
    Query,
    RatioSLI,
    RecordingRule,
    Threshold,
)
from boss.loader import LoadedPlugin
from boss.monitoring.errors import BuildError, Problem
from boss.monitoring.options import BuildOptions
from boss.monitoring.slo_selector import Matcher, SLISelector, read_selector
from boss.plugin import BossPlugin

__all__ = (
    "ALERT_WINDOWS",
    "PAGE",
    "TICKET",
    "BurnTier",
    "SLOFragments",
    "aggregation_labels",
    "alert_names",
    "effective_slos",
    "le_value",
    "slo_reference",
    "with_slos",
)

ALERT_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""The windows whose error ratio is recorded for the burn-rate alerts."""
_HOURS = {"5m": 5 / 60, "30m": 0.5, "1h": 1, "2h": 2, "6h": 6, "1d": 24, "3d": 72}


@dataclass(frozen=True, slots=True)
class BurnTier:
    """One alert of an SLO: (long window, short window, burn-rate factor) pairs, any may fire."""

    severity: str
    suffix: str
    """Alert name suffix after the SLO's CamelCase name."""
    runbook: str
    """The generic runbook page every SLO's alert of this tier shares."""
    pairs: tuple[tuple[str, str, float], ...]
    for_: str
    what: str
    """How ops should react, for the docs."""

    def budget_share(self, long: str, factor: float, window_hours: float) -> float:
        """Share of the window's error budget spent over ``long`` at ``factor`` times the rate."""
        return factor * _HOURS[long] / window_hours


PAGE = BurnTier(
    severity="critical",
    suffix="FastBurn",
    runbook="SLOFastBurn",
    pairs=(("1h", "5m", 14.4), ("6h", "30m", 6.0)),
    for_="2m",
    what="page: at this rate the whole budget is gone within days",
)
TICKET = BurnTier(
    severity="warning",
    suffix="SlowBurn",
    runbook="SLOSlowBurn",
    pairs=(("1d", "2h", 3.0), ("3d", "6h", 1.0)),
    for_="15m",
    what="ticket: the budget runs out before the window ends if nothing changes",
)


class SLOFragments(BossPlugin):
    """The fragments derived from one plugin's SLOs (subclassed per plugin by the build)."""

    owner: ClassVar[str] = ""
    """The plugin that declares the SLOs."""
    derived_from: ClassVar[tuple[SLO, ...]] = ()
    """The SLOs as built (objective overrides applied)."""


def camel(name: str) -> str:
    """``api-availability`` -> ``ApiAvailability``."""
    return "".join(part.capitalize() for part in name.split("-"))


def alert_names(slo: SLO) -> tuple[str, str]:
    """The page and ticket alert names of an SLO."""
    return camel(slo.name) + PAGE.suffix, camel(slo.name) + TICKET.suffix


def aggregation_labels(opts: BuildOptions) -> tuple[str, ...]:
    """``job`` and the deployment labels, which every SLO aggregation keeps."""
    return tuple(dict.fromkeys(("job", *opts.deployment_labels)))


def le_value(threshold: float) -> str:
    """The ``le`` label prometheus-client writes for a bucket bound (``1.0``, ``0.5``, ``+Inf``)."""
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(threshold))  # type: ignore[no-untyped-call]


def effective_slos(loaded: Sequence[LoadedPlugin], opts: BuildOptions) -> list[tuple[str, SLO]]:
    """Every declared SLO with its owner's name, objective overrides of ``opts`` applied."""
    out = []
    for item in loaded:
        if isinstance(item.plugin, SLOFragments):
            continue
        for slo in item.plugin.slos:
            if slo.name in opts.slo_objectives:
                slo = msgspec.structs.replace(slo, objective=opts.slo_objectives[slo.name])
            out.append((item.name, slo))
    return out


def _num(value: float) -> str:
    return f"{value:.10g}"


def _pct(value: float) -> str:
    return f"{value * 100:.6g}%"


def _budget(slo: SLO) -> str:
    return _num(1 - slo.objective)


@dataclass(frozen=True, slots=True)
class _Events:
    """How to count an SLO's events: all of them, and bad ones or good ones."""

    total: SLISelector
    bad: SLISelector | None
    good: SLISelector | None


def events(slo: SLO) -> _Events:
    """The SLI's selectors, histograms turned into their ``_count`` and ``_bucket`` series."""
    sli = slo.sli
    if isinstance(sli, RatioSLI):
        return _Events(
            total=read_selector(sli.total),
            bad=read_selector(sli.bad) if sli.bad else None,
            good=read_selector(sli.good) if sli.good else None,
        )
    hist = read_selector(sli.histogram)
    bucket = SLISelector(
        f"{hist.metric}_bucket", (*hist.matchers, Matcher("le", "=", le_value(sli.threshold)))
    )
    return _Events(total=SLISelector(f"{hist.metric}_count", hist.matchers), bad=None, good=bucket)


def _rate(selector: SLISelector, by: str) -> str:
    return f"sum by ({by}) (rate({selector.render()}[5m]))"


def _window_ratio(sel: str, window: str) -> str:
    """The traffic-weighted error ratio over ``window`` from the SLO's 5-minute rates."""
    return (
        f"sum_over_time(slo:sli_error:rate5m{sel}[{window}])"
        f" / sum_over_time(slo:sli_total:rate5m{sel}[{window}])"
    )


def _recording_rules(slo: SLO, opts: BuildOptions) -> list[RecordingRule]:
    by = ", ".join(aggregation_labels(opts))
    ev = events(slo)
    total = _rate(ev.total, by)
    if ev.bad is not None:
        bad = f"{_rate(ev.bad, by)} or 0 * {total}"
    else:
        assert ev.good is not None
        bad = f"clamp_min({total} - ({_rate(ev.good, by)} or 0 * {total}), 0)"
    label = {"slo": slo.name}
    sel = f'{{slo="{slo.name}"}}'
    rules = [
        RecordingRule(record="slo:sli_error:rate5m", expr=bad, labels=label),
        RecordingRule(record="slo:sli_total:rate5m", expr=total, labels=label),
        RecordingRule(
            record="slo:sli_error:ratio_rate5m",
            expr=f"slo:sli_error:rate5m{sel} / slo:sli_total:rate5m{sel}",
            labels=label,
        ),
    ]
    for window in ALERT_WINDOWS[1:]:
        rules.append(
            RecordingRule(
                record=f"slo:sli_error:ratio_rate{window}",
                expr=_window_ratio(sel, window),
                labels=label,
            )
        )
    return rules


def _window_hours(slo: SLO) -> float:
    from boss.monitoring.render_prometheus import duration_ms

    return duration_ms(slo.window) / 3_600_000


def _alert(slo: SLO, tier: BurnTier, name: str, inhibits: tuple[str, ...]) -> AlertRule:
    sel = f'{{slo="{slo.name}"}}'
    budget = _budget(slo)
    pairs = [
        f"(slo:sli_error:ratio_rate{long}{sel} / {budget} > {_num(factor)})"
        f" and (slo:sli_error:ratio_rate{short}{sel} / {budget} > {_num(factor)})"
        for long, short, factor in tier.pairs
    ]
    expr = " or ".join(f"({pair})" for pair in pairs)
    if tier is PAGE and slo.min_events_per_hour > 0:
        guard = f"avg_over_time(slo:sli_total:rate5m{sel}[1h]) * 3600"
        expr = f"({expr}) and ({guard} >= {_num(slo.min_events_per_hour)})"
    hours = _window_hours(slo)
    spent = "; or ".join(
        f"over the last {long} and {short} more than {_pct(factor * (1 - slo.objective))} of events"
        f" were bad ({_num(factor)}x the budgeted rate: "
        f"{_pct(tier.budget_share(long, factor, hours))} of the {slo.window} budget per {long})"
        for long, short, factor in tier.pairs
    )
    kind = "fast" if tier is PAGE else "steadily"
    return AlertRule(
        name=name,
        expr=expr,
        for_=tier.for_,
        severity=cast(Any, tier.severity),
        summary=(
            f"SLO {slo.name} burns its error budget {kind} "
            f"(objective {_pct(slo.objective)} over {slo.window})"
        ),
        description=f"{slo.description}. Error budget burn: {spent}.",
        runbook=tier.runbook,
        labels={"slo": slo.name},
        inhibits=inhibits,
    )


def _panels(slo: SLO) -> list[Panel]:
    sel = f'{{slo="{slo.name}"}}'
    budget = _budget(slo)
    window = f"({_window_ratio(sel, slo.window)})"  # instant: only when the dashboard asks
    return [
        Panel(
            title=f"{slo.name}: SLI over {slo.window} (objective {_pct(slo.objective)})",
            kind="stat",
            unit="percentunit",
            decimals=3,
            width=5,
            description=f"{slo.description}. Share of good events over the last {slo.window}.",
            thresholds=(Threshold(color="red"), Threshold(color="green", value=slo.objective)),
            queries=(Query(expr=f"1 - {window}", legend="SLI", instant=True),),
        ),
        Panel(
            title=f"{slo.name}: error budget remaining",
            kind="gauge",
            unit="percentunit",
            decimals=1,
            width=5,
            description=(
                f"Share of the {slo.window} error budget ({_pct(1 - slo.objective)} of events) "
                "not yet spent; below zero the SLO is missed."
            ),
            thresholds=(
                Threshold(color="red"),
                Threshold(color="orange", value=0.0),
                Threshold(color="green", value=0.25),
            ),
            queries=(Query(expr=f"1 - {window} / {budget}", legend="remaining", instant=True),),
        ),
        Panel(
            title=f"{slo.name}: burn rate",
            kind="timeseries",
            unit="short",
            width=14,
            description=(
                "How many times faster than sustainable the budget burns (1 = exactly used up "
                "at the end of the window). The page needs 14.4 over 1h or 6 over 6h."
            ),
            thresholds=(
                Threshold(color="green"),
                Threshold(color="orange", value=6.0),
                Threshold(color="red", value=14.4),
            ),
            queries=(
                Query(expr=f"slo:sli_error:ratio_rate1h{sel} / {budget}", legend="1h"),
                Query(expr=f"slo:sli_error:ratio_rate6h{sel} / {budget}", legend="6h"),
            ),
        ),
    ]


def _metric_specs(loaded: Sequence[LoadedPlugin]) -> dict[str, MetricSpec]:
    return {spec.name: spec for item in loaded for spec in item.plugin.metrics}


def _fragments(name: str, doc: str, **attrs: Any) -> BossPlugin:
    """An instance of a new ``SLOFragments`` subclass carrying ``attrs`` as its ClassVars."""
    # __module__ places the class in boss, whose package data holds the generic SLO runbooks
    # (a class made by type() would otherwise belong to the module "abc").
    attrs |= {"name": name, "__doc__": doc, "__module__": __name__}
    cls = type(f"{camel(name)}Fragments", (SLOFragments,), attrs)
    return cast(BossPlugin, cls())


def with_slos(loaded: Sequence[LoadedPlugin], opts: BuildOptions) -> list[LoadedPlugin]:
    """``loaded`` with the SLOs' derived fragments as plugins of their own.

    Each SLO becomes ``slo-<name>`` (its own rule group, rule file and test file, so its
    long tests evaluate only its own rules), and one ``slos-dashboard`` carries the SLO row,
    placed first on the dashboard. Expects SLOs that passed ``validate_slos``; derives
    nothing twice when called again.
    """
    from boss.monitoring.render_prometheus import runbook_url
    from boss.monitoring.slo_tests import SLOTestError, rule_tests

    base = [item for item in loaded if not isinstance(item.plugin, SLOFragments)]
    by_name = {item.name: item for item in base}
    specs = _metric_specs(base)
    derived: list[LoadedPlugin] = []
    panels: list[Panel] = []
    built: list[SLO] = []
    url_base = opts.runbook_url_base.rstrip("/")
    for owner, slo in effective_slos(base, opts):
        item = by_name[owner]
        page_name, ticket_name = alert_names(slo)
        page = _alert(slo, PAGE, page_name, slo.inhibits)
        ticket = _alert(slo, TICKET, ticket_name, ())
        urls = {a.name: runbook_url(a, url_base) for a in (page, ticket)}
        try:
            tests = rule_tests(slo, events(slo), page, ticket, specs, opts, urls)
        except SLOTestError as exc:
            raise BuildError([Problem(item.where, f"SLO {slo.name!r}", str(exc))]) from None
        plugin = _fragments(
            f"slo-{slo.name}",
            f"Rules, alerts and tests derived from SLO {slo.name!r} of plugin {owner!r}.",
            owner=owner,
            derived_from=(slo,),
            recording_rules=tuple(_recording_rules(slo, opts)),
            alerts=(page, ticket),
            rule_tests=tuple(tests),
        )
        derived.append(
            LoadedPlugin(
                plugin=plugin,
                entry_point=f"SLO {slo.name!r} of {item.entry_point}",
                distribution=item.distribution,
                version=item.version,
            )
        )
        panels += _panels(slo)
        built.append(slo)
    if not built:
        return base
    board = _fragments(
        "slos-dashboard",
        "The dashboard row of every SLO: SLI, error budget remaining, burn rate.",
        title="Service-level objectives",
        panels=tuple(panels),
    )
    row = LoadedPlugin(plugin=board, entry_point="the SLOs of every plugin")
    return [row, *base, *derived]


def slo_reference(loaded: Sequence[LoadedPlugin]) -> list[str]:
    """The ``docs/metrics.md`` section listing every SLO as built, its SLI and its alerts."""
    built = [
        (item.plugin.owner, slo)
        for item in loaded
        if isinstance(item.plugin, SLOFragments) and item.plugin.alerts
        for slo in item.plugin.derived_from
    ]
    if not built:
        return []
    out = [
        "",
        "## Service-level objectives",
        "",
        'Each SLO\'s error ratio is recorded as `slo:sli_error:ratio_rate<window>{slo="<name>"}`',
        f"for {', '.join(ALERT_WINDOWS)}; its burn rate is that ratio divided by the error",
        "budget (1 - objective). See docs/monitoring.md for the arithmetic.",
        "",
        "| SLO | plugin | objective | window | SLI | page (critical) | ticket (warning) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for owner, slo in built:
        page, ticket = alert_names(slo)
        out.append(
            f"| `{slo.name}` | {owner} | {_pct(slo.objective)} | {slo.window} | "
            f"{_sli_words(slo)} | [{page}](runbooks/{PAGE.runbook}.md) | "
            f"[{ticket}](runbooks/{TICKET.runbook}.md) |"
        )
    out += [""]
    for _, slo in built:
        page, ticket = alert_names(slo)
        budget = 1 - slo.objective
        guard = (
            f" It stays quiet below {_num(slo.min_events_per_hour)} events per hour"
            " (minimum-traffic guard)."
            if slo.min_events_per_hour > 0
            else ""
        )
        out += [
            f"### {slo.name}",
            "",
            f"{slo.description} — objective {_pct(slo.objective)} over {slo.window}, so the error "
            f"budget is {_pct(budget)} of events.",
            "",
            f"- SLI: {_sli_words(slo)}",
            f"- `{page}` pages when over the last 1h and 5m more than "
            f"{_pct(14.4 * budget)} of events are bad (14.4x burn, "
            f"{_pct(PAGE.budget_share('1h', 14.4, _window_hours(slo)))} of the {slo.window} "
            "budget per hour), "
            f"or over the last 6h and 30m more than {_pct(6 * budget)} (6x).{guard}",
            f"- `{ticket}` opens a ticket when over the last 1d and 2h more than "
            f"{_pct(3 * budget)} are bad (3x), or over the last 3d and 6h more than "
            f"{_pct(budget)} (1x: the budget would run out by the end of the window).",
        ]
        if slo.inhibits:
            out.append(f"- While `{page}` fires it mutes {', '.join(slo.inhibits)}.")
        out.append("")
    return out


def _sli_words(slo: SLO) -> str:
    sli = slo.sli
    if isinstance(sli, LatencySLI):
        text = f"share of `{sli.histogram}` at or under {_num(sli.threshold)}"
    elif sli.bad:
        text = f"1 - `{sli.bad}` / `{sli.total}`"
    else:
        text = f"`{sli.good}` / `{sli.total}`"
    return text.replace("|", "\\|")
