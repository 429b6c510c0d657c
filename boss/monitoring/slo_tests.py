"""promtool rule tests generated from an SLO's own spec: no hand-written series.

For each SLO the build writes four scenarios at steady traffic (one sample a minute):
after a clean hour a 100x burn pages within minutes; a 0.5x burn stays silent for three days;
after two clean days a 5x burn opens a ticket within a day and never pages (these two side
by side as two deployments when there is a deployment label); a handful of events an hour,
all bad, cannot page. Input series
are derived from the SLI's selectors and the metric specs, so they match exactly what the
recording rules select, and carry ``job``, ``instance`` and every deployment label.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from boss._specs import SLO, AlertRule, AlertTest, ExpectedAlert, MetricSpec, RuleTest, Series
from boss.monitoring.options import BuildOptions
from boss.monitoring.slo_selector import Matcher, SLISelector, matches, pick_value

if TYPE_CHECKING:
    from boss.monitoring.slo import _Events

__all__ = ("MIN_OBJECTIVE", "SLOTestError", "rule_tests", "series_labels")

MIN_OBJECTIVE = 0.94
"""Below this, even 100% bad events cannot burn the budget clearly faster than the page's 14.4x."""
_FAST, _SILENT, _TICKET = 100.0, 0.5, 5.0
_SLACK_MINUTES = 3


class SLOTestError(ValueError):
    """No input series can be derived from the SLI's matchers; the message says which label."""


def _num(value: float) -> str:
    return f"{value:.10g}"


def _spec(name: str, specs: Mapping[str, MetricSpec]) -> MetricSpec | None:
    if name in specs:
        return specs[name]
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)] in specs:
            return specs[name[: -len(suffix)]]
    return None


def base_labels(opts: BuildOptions) -> dict[str, str]:
    """``job``, ``instance`` and each deployment label, with the values the build uses."""
    labels = {"job": opts.job, "instance": opts.targets[0] if opts.targets else "boss:8000"}
    for label in opts.deployment_labels:
        value = getattr(opts, label, None)
        labels[label] = value if isinstance(value, str) else f"{label}-1"
    return labels


def series_labels(
    selector: SLISelector,
    must: Sequence[Matcher],
    specs: Mapping[str, MetricSpec],
    must_fail: Sequence[Matcher] = (),
) -> dict[str, str]:
    """Labels of a series of ``selector``'s metric passing ``must`` and, if given, failing
    ``must_fail`` (the bad events' selector, say, for a good-events series)."""
    spec = _spec(selector.metric, specs)
    declared = spec.labels if spec is not None else ()
    known = spec.label_values if spec is not None else {}
    failing = dict.fromkeys(m.label for m in must_fail)
    names = list(dict.fromkeys([*(m.label for m in must), *failing, *declared]))
    labels: dict[str, str] = {}
    for label in names:
        if label in failing:  # a value that passes ``must`` and fails ``must_fail``, if any
            value = pick_value(label, must, must_fail, known.get(label, ()))
            if value is not None:
                labels[label] = value
                continue
        if not any(m.label == label for m in must):
            if known.get(label):
                labels[label] = known[label][0]
            continue
        value = pick_value(label, must, (), known.get(label, ()))
        if value is None:
            raise SLOTestError(
                f"no value of label {label!r} passes "
                f"{', '.join(m.text for m in must if m.label == label)}: declare its label_values"
            )
        labels[label] = value
    if must_fail and matches(must_fail, labels):
        raise SLOTestError(
            f"no series of {selector.metric} passes {selector.render()} without also "
            f"passing {', '.join(m.text for m in must_fail)}: declare label_values"
        )
    return labels


def _series(metric: str, labels: Mapping[str, str], base: Mapping[str, str]) -> str:
    merged = {**base, **labels}
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in merged.items())
    return f"{metric}{{{inner}}}"


def _counter(segments: Sequence[tuple[float, int]]) -> str:
    """promtool's expanding notation for a counter growing ``inc`` a minute for ``steps``
    minutes per segment, starting at 0 (the first segment also has the sample at 0)."""
    parts: list[str] = []
    value = 0.0
    for index, (inc, steps) in enumerate(segments):
        if index == 0:
            parts.append(f"{_num(value)}+{_num(inc)}x{steps}")
            value += inc * steps
        else:
            start = value + inc
            parts.append(f"{_num(start)}+{_num(inc)}x{steps - 1}")
            value = start + inc * (steps - 1)
    return " ".join(parts)


class _Scenario:
    """Builds the input series of one scenario from per-segment (events/min, bad share)."""

    def __init__(self, ev: _Events, specs: Mapping[str, MetricSpec], opts: BuildOptions) -> None:
        self.base = base_labels(opts)
        total = ev.total
        self.parts: list[tuple[str, dict[str, str], str]] = []
        """(metric, labels, what it counts: ``bad``, ``good`` or ``all`` events)."""
        if ev.bad is not None:
            bad = ev.bad
            if bad.metric == total.metric:
                must = (*total.matchers, *bad.matchers)
                self._add(total.metric, series_labels(total, must, specs), "bad")
                good = series_labels(total, total.matchers, specs, bad.matchers)
                self._add(total.metric, good, "good")
            else:
                self._add(total.metric, series_labels(total, total.matchers, specs), "all")
                self._add(bad.metric, series_labels(bad, bad.matchers, specs), "bad")
        else:
            assert ev.good is not None
            good_sel = ev.good
            if good_sel.metric == total.metric:
                must = (*total.matchers, *good_sel.matchers)
                self._add(total.metric, series_labels(total, must, specs), "good")
                bad_labels = series_labels(total, total.matchers, specs, good_sel.matchers)
                self._add(total.metric, bad_labels, "bad")
            else:
                self._add(total.metric, series_labels(total, total.matchers, specs), "all")
                self._add(
                    good_sel.metric, series_labels(good_sel, good_sel.matchers, specs), "good"
                )

    def _add(self, metric: str, labels: dict[str, str], kind: str) -> None:
        self.parts.append((metric, labels, kind))

    def series(
        self, segments: Sequence[tuple[float, float, int]], base: Mapping[str, str] | None = None
    ) -> tuple[Series, ...]:
        """Input series for segments of (events per minute, bad share, minutes)."""
        base = self.base if base is None else base
        out = []
        for metric, labels, kind in self.parts:
            rates = []
            for per_min, bad_share, minutes in segments:
                share = {"bad": bad_share, "good": 1 - bad_share, "all": 1.0}[kind]
                rates.append((per_min * share, minutes))
            out.append(Series(series=_series(metric, labels, base), values=_counter(rates)))
        return tuple(out)


def _quiet(alertname: str, minutes: Iterable[int]) -> list[AlertTest]:
    return [AlertTest(eval_time=f"{m}m", alertname=alertname) for m in minutes]


def _fires(alert: AlertRule, minute: int, base: Mapping[str, str], url: str) -> AlertTest:
    kept = {k: v for k, v in base.items() if k != "instance"}  # aggregated away
    labels = {"severity": alert.severity, **alert.labels, **kept}
    annotations = {"summary": alert.summary, "description": alert.description, "runbook_url": url}
    expected = ExpectedAlert(exp_labels=labels, exp_annotations=annotations)
    return AlertTest(eval_time=f"{minute}m", alertname=alert.name, exp_alerts=(expected,))


def rule_tests(
    slo: SLO,
    ev: _Events,
    page: AlertRule,
    ticket: AlertRule,
    specs: Mapping[str, MetricSpec],
    opts: BuildOptions,
    runbook_urls: Mapping[str, str],
) -> list[RuleTest]:
    """The generated scenarios of one SLO (see the module docstring).

    The long ones (days of 1-minute samples) evaluate the rules every 5 minutes, which keeps
    ``boss monitoring build`` fast; the page scenarios evaluate every minute.
    """
    scenario = _Scenario(ev, specs, opts)
    base = scenario.base
    budget = 1 - slo.objective
    per_min = max(1000.0, 10 * slo.min_events_per_hour / 60)
    hour = 60

    fast = min(_FAST, 1 / budget)
    page_after = math.ceil(14.4 * 60 / fast) + 2 + _SLACK_MINUTES
    tests = [
        RuleTest(
            name=f"{slo.name}: after a clean hour, a {_num(fast)}x burn pages within "
            f"{page_after} minutes",
            input_series=scenario.series(
                [(per_min, 0.0, hour), (per_min, min(1.0, fast * budget), hour)]
            ),
            alert_rule_test=(
                AlertTest(eval_time=f"{hour}m", alertname=page.name),
                _fires(page, hour + page_after, base, runbook_urls[page.name]),
            ),
        ),
    ]
    tests += _long_scenarios(scenario, slo, page, ticket, per_min, runbook_urls, opts)
    if slo.min_events_per_hour > 0:
        few = slo.min_events_per_hour / 2 / 60
        tests.append(
            RuleTest(
                name=(
                    f"{slo.name}: {_num(slo.min_events_per_hour / 2)} events an hour, all bad, "
                    "do not page (minimum-traffic guard)"
                ),
                input_series=scenario.series([(few, 1.0, 3 * hour)]),
                alert_rule_test=tuple(_quiet(page.name, range(30, 3 * hour + 1, 30))),
            )
        )
    return tests


def _long_scenarios(
    scenario: _Scenario,
    slo: SLO,
    page: AlertRule,
    ticket: AlertRule,
    per_min: float,
    runbook_urls: Mapping[str, str],
    opts: BuildOptions,
) -> list[RuleTest]:
    """0.5x silent for three days; after two clean days 5x tickets within a day, no page.

    With a deployment label both run side by side in one test, as two deployments (the
    rules aggregate per deployment, so they cannot see each other): one promtool run of
    three days instead of two, which is most of what the SLO tests cost.
    """
    budget = 1 - slo.objective
    hour, day = 60, 24 * 60
    silent = [(per_min, _SILENT * budget, 3 * day)]
    burning = [(per_min, 0.0, 2 * day), (per_min, _TICKET * budget, day)]
    # From the onset at 2d the 3d ratio is 5k/(48+k) budgets after k hours: under 1 up to
    # 11 h, over 1 from 14 h (the ticket's 15 minutes "for" included); 12-13 h is the edge.
    quiet_until, firing_from = 2 * day + 11 * hour, 2 * day + 14 * hour
    quiet_name = f"{slo.name}: a {_num(_SILENT)}x burn stays silent for three days"
    ticket_name = (
        f"{slo.name}: after two clean days, a {_num(_TICKET)}x burn opens a ticket "
        "within a day and never pages"
    )
    if opts.deployment_labels:
        label = opts.deployment_labels[0]
        base = scenario.base
        quiet_base = {**base, label: f"{base[label]}-at-{_num(_SILENT)}x"}
        burn_base = {**base, label: f"{base[label]}-at-{_num(_TICKET)}x"}
        return [
            RuleTest(
                name=f"{quiet_name}; {ticket_name} (side by side, by {label})",
                input_series=scenario.series(silent, quiet_base)
                + scenario.series(burning, burn_base),
                evaluation_interval="5m",
                alert_rule_test=(
                    *_quiet(ticket.name, range(hour, quiet_until + 1, hour)),
                    *(
                        _fires(ticket, m, burn_base, runbook_urls[ticket.name])
                        for m in range(firing_from, 3 * day + 1, hour)
                    ),
                    *_quiet(page.name, range(hour, 3 * day + 1, hour)),
                ),
            )
        ]
    return [
        RuleTest(
            name=quiet_name,
            input_series=scenario.series([(per_min, _SILENT * budget, 3 * day)]),
            evaluation_interval="5m",
            alert_rule_test=tuple(
                _quiet(page.name, range(hour, 3 * day + 1, hour))
                + _quiet(ticket.name, range(hour, 3 * day + 1, hour))
            ),
        ),
        RuleTest(
            name=ticket_name,
            input_series=scenario.series(burning),
            evaluation_interval="5m",
            alert_rule_test=(
                *_quiet(ticket.name, range(hour, quiet_until + 1, hour)),
                *(
                    _fires(ticket, m, scenario.base, runbook_urls[ticket.name])
                    for m in range(firing_from, 3 * day + 1, hour)
                ),
                *_quiet(page.name, range(hour, 3 * day + 1, hour)),
            ),
        ),
    ]
