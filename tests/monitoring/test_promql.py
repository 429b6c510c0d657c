"""The PromQL reader finds exactly the series and labels a query names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from boss.monitoring import ToolMissingError, find_tool, tools
from boss.monitoring.promql import PromQLReadError, Selector, read_query, read_series


def test_selectors_and_grouping() -> None:
    refs = read_query(
        "histogram_quantile(0.95, sum by (job, le) "
        '(rate(http_request_duration_seconds_bucket{endpoint!="/health"}[5m]))) > 2'
    )
    assert refs.selectors == [
        Selector(metric="http_request_duration_seconds_bucket", labels=("endpoint",))
    ]
    assert refs.grouping == {"job", "le"}


def test_trailing_by_vector_matching_offset_and_at() -> None:
    refs = read_query(
        "sum(rate(a_total[5m] offset 1h)) by (x) / on (job) group_left (y) b @ end()"
        " and ignoring(z) c unless d"
    )
    assert refs.metrics == ["a_total", "b", "c", "d"]
    assert refs.grouping == {"x", "job", "y", "z"}


def test_keywords_functions_and_numbers_are_not_metrics() -> None:
    refs = read_query("clamp_min(sum without (instance) (up), 1e-9) * 60 > bool 0x10 or vector(1)")
    assert refs.metrics == ["up"]
    assert refs.grouping == {"instance"}


def test_label_functions() -> None:
    refs = read_query(
        'label_join(label_replace(up, "host", "$1", "instance", "(.*):.*"), "hp", ":", "host", "job")'
        ' + count_values("version", build_info)'
    )
    assert refs.created == {"host", "hp", "version"}
    assert refs.used == {"instance", "host", "job"}


def test_name_matcher_and_subquery_and_grafana_variables() -> None:
    refs = read_query(
        'max_over_time({__name__="foo", a=~"b|c"}[1h:5m]) + rate(x[$__rate_interval])'
    )
    assert refs.selectors == [Selector("foo", ("a",)), Selector("x", ())]


def test_strings_may_hold_anything() -> None:
    refs = read_query("x{path=\"/a{b}(c)\", q='it\\'s'}")
    assert refs.selectors == [Selector("x", ("path", "q"))]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("sum(rate(x[5m])", "unclosed '('"),
        ('x{a="b"', "unclosed '{'"),
        ("x{a=b}", "malformed label matcher"),
        ("x ? y", "unexpected character '?'"),
        ("x)", "unbalanced ')'"),
    ],
)
def test_unreadable_queries(query: str, problem: str) -> None:
    with pytest.raises(PromQLReadError, match=re.escape(problem)):
        read_query(query)


def test_series_notation() -> None:
    assert read_series('up{job="boss", instance="a:1"}') == Selector("up", ("job", "instance"))
    with pytest.raises(PromQLReadError):
        read_series('{job="boss"}')


def test_missing_tool_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tools, "_PROJECT_ROOT", tmp_path)
    with pytest.raises(ToolMissingError, match="run `make tools`"):
        find_tool("promtool")
