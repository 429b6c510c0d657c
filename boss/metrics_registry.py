"""Turn every plugin's metric specs into prometheus-client objects, in one place.

One ``CollectorRegistry`` per app (injected, so each test gets a fresh one); the same code
path serves prometheus-client multiprocess mode, where values live in mmap files instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from boss._specs import MetricSpec

__all__ = ("Metric", "MetricHandles", "materialise")

Metric = Counter | Gauge | Histogram


class MetricHandles(Mapping[str, Metric]):
    """A plugin's own metric objects by exposed name (``handles["http_requests_total"]``)."""

    __slots__ = ("_items", "_owner")

    def __init__(self, owner: str, items: dict[str, Metric]) -> None:
        self._owner = owner
        self._items = items

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


def _build(spec: MetricSpec, registry: CollectorRegistry) -> Metric:
    if spec.kind == "counter":
        return Counter(spec.base_name, spec.help, spec.labels, registry=registry)
    if spec.kind == "gauge":
        return Gauge(
            spec.name,
            spec.help,
            spec.labels,
            registry=registry,
            multiprocess_mode=spec.multiprocess_mode,
        )
    assert spec.buckets is not None
    return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)


def materialise(
    owner: str, specs: tuple[MetricSpec, ...], registry: CollectorRegistry
) -> MetricHandles:
    """Create ``owner``'s metrics in ``registry`` and return their handles."""
    return MetricHandles(owner, {spec.name: _build(spec, registry) for spec in specs})
