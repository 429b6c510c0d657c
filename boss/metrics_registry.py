"""Turn every plugin's metric specs into prometheus-client objects, in one place.

One ``CollectorRegistry`` per app (injected, so each test gets a fresh one); the same code
path serves prometheus-client multiprocess mode, where values live in mmap files instead.

Two run-time guarantees live here too:

- **Series budgets.** A metric with ``max_series`` accepts that many label-value
  combinations; after that, a new combination is folded into one overflow series whose
  unbounded labels (those without ``label_values``) read ``__overflow__`` — the
  OpenTelemetry SDK's cardinality limit is the model. Each folded ``labels()`` lookup counts
  in ``boss_metric_series_overflow_total{metric}`` and the first one per metric is logged.
  In multiprocess mode every worker keeps its own budget (children live per process).
- **Zero-initialisation.** Every counter whose labels all have known values (declared
  ``label_values`` plus values a plugin declares at start-up with
  ``MetricHandles.declare_label_values``) is exported at 0 for every combination from
  start-up, so ``rate()``/``increase()`` see the first failure (``ZERO_INIT_LIMIT`` caps it).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from boss._specs import MetricSpec

__all__ = (
    "OVERFLOW_METRIC",
    "OVERFLOW_VALUE",
    "ZERO_INIT_LIMIT",
    "Metric",
    "MetricHandles",
    "SeriesBudgets",
    "materialise",
    "zero_initialise",
)

OVERFLOW_VALUE = "__overflow__"
"""The label value new combinations fold into once a metric is past its series budget."""
OVERFLOW_METRIC = "boss_metric_series_overflow_total"
ZERO_INIT_LIMIT = 1000
"""Most label combinations one counter is zero-initialised with (larger products are not)."""

logger = logging.getLogger("boss.metrics")
T = TypeVar("T", bound="_Budgeted")


class _Budgeted:
    """``labels()`` that folds new combinations into the overflow series past the budget."""

    _boss_budget: int | None = None
    _boss_fold: tuple[bool, ...] = ()
    _boss_overflowed: Callable[[], None] | None = None

    def labels(self: T, *labelvalues: object, **labelkwargs: object) -> T:
        budget = self._boss_budget
        names: tuple[str, ...] = getattr(self, "_labelnames", ())
        if labelkwargs and not labelvalues and sorted(labelkwargs) == sorted(names):
            labelvalues, labelkwargs = tuple(labelkwargs[n] for n in names), {}
        if budget is None or labelkwargs or len(labelvalues) != len(self._boss_fold):
            found: T = super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc]
            return found
        values = tuple(str(v) for v in labelvalues)
        children: dict[tuple[str, ...], Any] = self._metrics  # type: ignore[attr-defined]
        child: T | None = children.get(values)  # existing series: no lock, no checks
        if child is not None:
            return child
        if len(children) >= budget:
            values = tuple(
                OVERFLOW_VALUE if fold else v
                for v, fold in zip(values, self._boss_fold, strict=True)
            )
            if self._boss_overflowed is not None:
                self._boss_overflowed()
        folded: T = super().labels(*values)  # type: ignore[misc]
        return folded


class BudgetedCounter(_Budgeted, Counter):
    """A prometheus-client Counter with a series budget."""


class BudgetedGauge(_Budgeted, Gauge):
    """A prometheus-client Gauge with a series budget."""


class BudgetedHistogram(_Budgeted, Histogram):
    """A prometheus-client Histogram with a series budget."""


Metric = Counter | Gauge | Histogram


class SeriesBudgets:
    """Counts and logs (once per metric) label combinations folded past a series budget."""

    __slots__ = ("_counter", "_warned")

    def __init__(self) -> None:
        self._counter: Counter | None = None
        self._warned: set[str] = set()

    def attach(self, counter: Counter) -> None:
        """Count overflows in ``counter`` (core's ``boss_metric_series_overflow_total``)."""
        self._counter = counter

    def overflowed(self, spec: MetricSpec) -> None:
        """Record that ``spec``'s metric folded a new label combination."""
        if spec.name not in self._warned:
            self._warned.add(spec.name)
            logger.warning(
                "metric %s passed its series budget of %d label combinations in this "
                "process: new combinations are counted under the label value %s",
                spec.name,
                spec.max_series,
                OVERFLOW_VALUE,
            )
        if self._counter is not None:
            self._counter.labels(spec.name).inc()


class MetricHandles(Mapping[str, Metric]):
    """A plugin's own metric objects by exposed name (``handles["http_requests_total"]``)."""

    __slots__ = ("_declared", "_items", "_owner", "_specs")

    def __init__(
        self, owner: str, items: dict[str, Metric], specs: Mapping[str, MetricSpec] | None = None
    ) -> None:
        self._owner = owner
        self._items = items
        self._specs: dict[str, MetricSpec] = dict(specs or {})
        self._declared: dict[tuple[str, str], tuple[str, ...]] = {}

    def __getitem__(self, name: str) -> Metric:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"plugin {self._owner!r} declares no metric {name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def counter(self, name: str) -> Counter:
        """The counter called ``name``."""
        metric = self[name]
        assert isinstance(metric, Counter), f"{name} is not a counter"
        return metric

    def gauge(self, name: str) -> Gauge:
        """The gauge called ``name``."""
        metric = self[name]
        assert isinstance(metric, Gauge), f"{name} is not a gauge"
        return metric

    def histogram(self, name: str) -> Histogram:
        """The histogram called ``name``."""
        metric = self[name]
        assert isinstance(metric, Histogram), f"{name} is not a histogram"
        return metric

    def declare_label_values(self, metric: str, label: str, values: Iterable[str]) -> None:
        """Values of ``label`` known only at run time (channels from settings, say).

        Call it in ``setup``: with them, a counter whose labels are all known is exported
        at 0 for every combination from start-up (see ``zero_initialise``).
        """
        spec = self._specs.get(metric)
        if spec is None:
            raise KeyError(f"plugin {self._owner!r} declares no metric {metric!r}")
        if label not in spec.labels:
            raise KeyError(f"metric {metric!r} of plugin {self._owner!r} has no label {label!r}")
        known = self._declared.get((metric, label), ())
        self._declared[(metric, label)] = tuple(dict.fromkeys((*known, *map(str, values))))

    def known_values(self, metric: str) -> list[tuple[str, ...]] | None:
        """Each label's known values (declared plus run-time), or ``None`` if one is open."""
        spec = self._specs[metric]
        out: list[tuple[str, ...]] = []
        for label in spec.labels:
            values = tuple(
                dict.fromkeys(
                    (*spec.label_values.get(label, ()), *self._declared.get((metric, label), ()))
                )
            )
            if not values:
                return None
            out.append(values)
        return out

    def specs(self) -> Iterator[MetricSpec]:
        """The specs the handles were built from."""
        return iter(self._specs.values())


def _build(spec: MetricSpec, registry: CollectorRegistry) -> Metric:
    budgeted = spec.max_series is not None and bool(spec.labels)
    metric: Metric
    if spec.kind == "counter":
        cls = BudgetedCounter if budgeted else Counter
        metric = cls(spec.base_name, spec.help, spec.labels, registry=registry)
    elif spec.kind == "gauge":
        gauge = BudgetedGauge if budgeted else Gauge
        metric = gauge(
            spec.name,
            spec.help,
            spec.labels,
            registry=registry,
            multiprocess_mode=spec.multiprocess_mode,
        )
    else:
        assert spec.buckets is not None
        histogram = BudgetedHistogram if budgeted else Histogram
        metric = histogram(
            spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets
        )
    return metric


def materialise(
    owner: str,
    specs: tuple[MetricSpec, ...],
    registry: CollectorRegistry,
    budgets: SeriesBudgets | None = None,
) -> MetricHandles:
    """Create ``owner``'s metrics in ``registry`` and return their handles.

    Metrics with ``max_series`` fold past their budget, counted and logged by ``budgets``.
    """
    items: dict[str, Metric] = {}
    for spec in specs:
        metric = items[spec.name] = _build(spec, registry)
        if isinstance(metric, _Budgeted):
            bounded = [label in spec.label_values for label in spec.labels]
            metric._boss_budget = spec.max_series
            # Fold the open labels; with every label bounded, fold them all.
            metric._boss_fold = (
                tuple(not b for b in bounded) if not all(bounded) else (True,) * len(bounded)
            )
            if budgets is not None:
                metric._boss_overflowed = _notifier(budgets, spec)
    return MetricHandles(owner, items, {spec.name: spec for spec in specs})


def _notifier(budgets: SeriesBudgets, spec: MetricSpec) -> Callable[[], None]:
    return lambda: budgets.overflowed(spec)


def zero_initialise(handles: Iterable[MetricHandles], limit: int = ZERO_INIT_LIMIT) -> int:
    """Export every fully known counter at 0 for each label combination; return how many.

    A counter is skipped when one of its labels has no known values, or when the product of
    the known values exceeds ``limit`` or the metric's ``max_series``.
    """
    created = 0
    for plugin in handles:
        for spec in plugin.specs():
            if spec.kind != "counter" or not spec.labels:
                continue
            values = plugin.known_values(spec.name)
            if values is None:
                continue
            size = 1
            for domain in values:
                size *= len(domain)
            if size > limit or (spec.max_series is not None and size > spec.max_series):
                logger.info(
                    "metric %s: %d label combinations are too many to zero-initialise",
                    spec.name,
                    size,
                )
                continue
            counter = plugin.counter(spec.name)
            for combo in itertools.product(*values):
                counter.labels(*combo)
                created += 1
    return created
