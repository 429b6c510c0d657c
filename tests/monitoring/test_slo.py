"""SLOs: validation, the derived rules under the real promtool, inhibition on a real Alertmanager.

The scenario tests write their own input series (not the build's generated ones) and run them
against the rule file the build derives from core's ``api-availability`` SLO, so they check
the rules independently of the generated tests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import yaml
from click.testing import CliRunner

from boss import (
    SLO,
    BossPlugin,
    LatencySLI,
    MetricSpec,
    RatioSLI,
)
from boss.cli._main import cli
from boss.loader import LoadedPlugin
from boss.monitoring import BuildOptions, find_tool, render_prometheus
from boss.monitoring.render_alertmanager import alertmanager_yml
from boss.monitoring.render_docs import metrics_md
from boss.monitoring.render_grafana import dashboard
from boss.monitoring.scoping import panel_scope, scope_expr
from boss.monitoring.slo import SLOFragments, with_slos
from boss.monitoring.slo_selector import read_selector
from boss.monitoring.slo_tests import series_labels
from boss.monitoring.validate import validate_slos

from .conftest import REPO, load

pytestmark = pytest.mark.usefixtures("tools")


class Shop(BossPlugin):
    """A plugin author's SLOs in a few lines: a good-events ratio and a latency SLI."""

    name = "shop"
    metrics: ClassVar[tuple[MetricSpec, ...]] = (
        MetricSpec(
            name="shop_orders_total",
            kind="counter",
            help="Orders by outcome.",
            labels=("outcome",),
            label_values={"outcome": ("ok", "failed")},
        ),
        MetricSpec(
            name="shop_checkout_seconds",
            kind="histogram",
            help="Checkout time.",
            labels=("step",),
            label_values={"step": ("address", "pay", "pay-confirm")},
            buckets=(0.1, 0.3, 1.0),
        ),
    )
    slos: ClassVar[tuple[SLO, ...]] = (
        SLO(
            name="orders",
            description="Orders go through",
            objective=0.99,
            sli=RatioSLI(total="shop_orders_total", good='shop_orders_total{outcome="ok"}'),
        ),
        SLO(
            name="checkout-latency",
            description="Checkouts finish within 0.3 s",
            objective=0.95,
            window="4w",
            sli=LatencySLI(histogram='shop_checkout_seconds{step=~"pay.*"}', threshold=0.3),
        ),
    )


def _shop(**slo_changes: Any) -> type[BossPlugin]:
    """Shop with its first SLO changed (for validation errors)."""
    import msgspec

    first = msgspec.structs.replace(Shop.slos[0], **slo_changes)
    return type("BrokenShop", (Shop,), {"slos": (first,)})


def _problems(plugin: type[BossPlugin], **opts: Any) -> str:
    return "\n".join(str(p) for p in validate_slos(load(plugin), BuildOptions(**opts)))


# --- validation ----------------------------------------------------------------------------


def test_the_core_and_shop_slos_validate() -> None:
    assert _problems(Shop) == ""


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "Orders"}, "must match [a-z][a-z0-9-]*"),
        ({"objective": 1.0}, "objective 1.0 is outside"),
        ({"objective": 0.5}, "objective 0.5 is outside"),
        ({"window": "2d"}, "window '2d' must be a duration longer than 3d"),
        ({"window": "month"}, "window 'month' must be a duration"),
        ({"description": " "}, "missing description"),
        ({"inhibits": ("NoSuchAlert",)}, "inhibits unknown alert 'NoSuchAlert'"),
        (
            {"sli": RatioSLI(total="shop_order_total", good='shop_orders_total{outcome="ok"}')},
            "total: 'shop_order_total' is not a declared counter",
        ),
        (
            {"sli": RatioSLI(total="shop_orders_total", good='shop_orders_total{result="ok"}')},
            "metric 'shop_orders_total' has no label 'result'",
        ),
        (
            {"sli": RatioSLI(total="shop_orders_total")},
            "needs exactly one of 'bad' or 'good'",
        ),
        (
            {"sli": RatioSLI(total="shop_checkout_seconds", bad="shop_orders_total")},
            "total: 'shop_checkout_seconds' is not a declared counter",
        ),
        (
            {"sli": RatioSLI(total="shop_orders_total{outcome=ok}", bad="shop_orders_total")},
            "malformed label matcher",
        ),
        (
            {"sli": LatencySLI(histogram="shop_checkout_seconds", threshold=0.25)},
            "threshold 0.25 is not a bucket boundary of shop_checkout_seconds "
            "(buckets: 0.1, 0.3, 1)",
        ),
        (
            {"sli": LatencySLI(histogram="shop_orders_total", threshold=0.3)},
            "'shop_orders_total' is not a declared histogram",
        ),
        (
            {"sli": LatencySLI(histogram='shop_checkout_seconds{le="0.3"}', threshold=0.3)},
            "do not match 'le'",
        ),
    ],
)
def test_invalid_slos_are_named(changes: dict[str, Any], expected: str) -> None:
    found = _problems(_shop(**changes))
    assert "plugin 'shop'" in found
    assert "SLO " in found
    assert expected in found


def test_duplicate_slo_names_fail() -> None:
    twice = type("Twice", (Shop,), {"slos": (Shop.slos[0], Shop.slos[0])})
    assert "duplicate SLO name" in _problems(twice)


def test_objective_overrides_are_checked() -> None:
    assert "unknown SLO 'nope' (declared SLOs: api-availability, api-latency" in _problems(
        Shop, slo_objectives={"nope": 0.99}
    )
    assert "objective 0.5 is outside" in _problems(Shop, slo_objectives={"api-availability": 0.5})


def test_cli_rejects_a_malformed_or_unknown_objective(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["monitoring", "build", "--check", "--slo-objective", "x=2"])
    assert bad.exit_code == 2
    assert "expected NAME=OBJECTIVE with OBJECTIVE between 0 and 1" in bad.output
    unknown = runner.invoke(
        cli, ["monitoring", "build", "--out", str(tmp_path), "--slo-objective", "nope=0.99"]
    )
    assert unknown.exit_code != 0
    assert "unknown SLO 'nope'" in unknown.output
    assert "Traceback" not in unknown.output


# --- derived fragments ---------------------------------------------------------------------


def _derived(loaded: Sequence[LoadedPlugin], name: str) -> LoadedPlugin:
    return next(item for item in loaded if item.name == name)


def test_each_slo_becomes_rules_alerts_tests_and_panels() -> None:
    loaded = with_slos(load(Shop), BuildOptions())
    assert loaded[0].name == "slos-dashboard"  # the SLO row comes first
    again = with_slos(loaded, BuildOptions())  # nothing derived twice
    assert [item.name for item in again] == [item.name for item in loaded]
    orders = _derived(loaded, "slo-orders")
    assert isinstance(orders.plugin, SLOFragments)
    assert orders.plugin.owner == "shop"
    records = [r.record for r in orders.plugin.recording_rules]
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert f"slo:sli_error:ratio_rate{window}" in records
    assert all(r.labels == {"slo": "orders"} for r in orders.plugin.recording_rules)
    assert "sum by (job, cluster, environment)" in orders.plugin.recording_rules[0].expr
    page, ticket = orders.plugin.alerts
    assert (page.name, page.severity, page.labels) == (
        "OrdersFastBurn",
        "critical",
        {"slo": "orders"},
    )
    assert (ticket.name, ticket.severity) == ("OrdersSlowBurn", "warning")
    assert "objective 99% over 30d" in page.summary
    assert "2% of the 30d budget per 1h" in page.description
    assert "/ 0.01 > 14.4" in page.expr
    assert "/ 0.01 > 6" in page.expr
    assert "/ 0.01 > 3" in ticket.expr
    assert "/ 0.01 > 1" in ticket.expr
    assert "* 3600 >= 30" in page.expr  # minimum-traffic guard
    latency = _derived(loaded, "slo-checkout-latency")
    bad = latency.plugin.recording_rules[0].expr
    assert 'shop_checkout_seconds_bucket{step=~"pay.*", le="0.3"}' in bad
    board = {p.title: p for p in _derived(loaded, "slos-dashboard").plugin.panels}
    sli = board["checkout-latency: SLI over 4w (objective 95%)"]
    assert "[4w])" in sli.queries[0].expr  # over the SLO's own window


def test_objective_override_changes_rules_and_tests() -> None:
    opts = BuildOptions(slo_objectives={"api-availability": 0.995})
    page = _derived(with_slos(load(), opts), "slo-api-availability").plugin.alerts[0]
    assert "/ 0.005 > 14.4" in page.expr
    assert "objective 99.5% over 30d" in page.summary


def test_generated_series_match_good_and_bad_events() -> None:
    specs = {spec.name: spec for spec in load()[0].plugin.metrics}
    total = read_selector('http_requests_total{endpoint=~"/api/.*"}')
    bad = read_selector('http_requests_total{endpoint=~"/api/.*", status=~"5.."}')
    bad_labels = series_labels(total, (*total.matchers, *bad.matchers), specs)
    good_labels = series_labels(total, total.matchers, specs, bad.matchers)
    assert bad_labels["status"].startswith("5")
    assert bad_labels["endpoint"].startswith("/api/")
    assert not good_labels["status"].startswith("5")
    assert good_labels["method"] == "GET"  # declared label_values are used


def _run_promtool(tmp: Path, rules: dict[str, str], tests: dict[str, str]) -> str:
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "tests").mkdir(exist_ok=True)
    for name, text in rules.items():
        (tmp / "rules" / name).write_text(text)
    for name, text in tests.items():
        (tmp / "tests" / name).write_text(text)
    done = subprocess.run(
        [find_tool("promtool"), "test", "rules", *tests],
        cwd=tmp / "tests",
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_plugin_authors_slos_get_passing_generated_tests(tmp_path: Path) -> None:
    opts = BuildOptions(cluster="eu-1", environment="staging")
    loaded = with_slos(load(Shop), opts)
    rules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for name in ("slo-orders", "slo-checkout-latency"):
        item = _derived(loaded, name)
        rules[f"{name}.yml"] = render_prometheus.rules_yml(item, opts)
        tests |= render_prometheus.tests_yml(item, loaded, {}, opts)
    assert "slo-orders.every-5m.yml" in tests
    del tests["slo-orders.every-5m.yml"]  # the same shape as core's, which every build runs
    text = "".join(tests.values())
    assert 'cluster="eu-1"' in text
    assert 'environment="staging"' in text
    assert 'outcome="failed"' in text
    assert 'le="0.3"' in text
    out = _run_promtool(tmp_path, rules, tests)
    assert out.count("SUCCESS") == len(tests)


# --- the held-out scenarios, with their own series -------------------------------------------

_LABELS = 'job="boss", instance="boss:8000", method="GET", endpoint="/api/db/tasks"'


def _requests(ok_per_min: float, failed_per_min: float, minutes: int) -> list[dict[str, str]]:
    return [
        {
            "series": f'http_requests_total{{{_LABELS}, status="200"}}',
            "values": f"0+{ok_per_min:g}x{minutes}",
        },
        {
            "series": f'http_requests_total{{{_LABELS}, status="503"}}',
            "values": f"0+{failed_per_min:g}x{minutes}",
        },
    ]


@pytest.fixture(scope="module")
def availability() -> tuple[str, dict[str, Any]]:
    """The rule file derived from core's api-availability SLO, and its alerts by name."""
    opts = BuildOptions()
    item = _derived(with_slos(load(), opts), "slo-api-availability")
    alerts = {
        a.name: {
            "summary": a.summary,
            "description": a.description,
            "runbook_url": render_prometheus.runbook_url(a, opts.runbook_url_base),
        }
        for a in item.plugin.alerts
    }
    return render_prometheus.rules_yml(item, opts), alerts


def _expect(alerts: dict[str, Any], name: str, severity: str) -> list[dict[str, Any]]:
    labels = {"severity": severity, "slo": "api-availability", "job": "boss"}
    return [{"exp_labels": labels, "exp_annotations": alerts[name]}]


def _check(
    tmp: Path, availability: tuple[str, dict[str, Any]], interval: str, tests: list[Any]
) -> None:
    rules, _ = availability
    text = yaml.safe_dump(
        {"rule_files": ["../rules/slo.yml"], "evaluation_interval": interval, "tests": tests}
    )
    _run_promtool(tmp, {"slo.yml": rules}, {"scenario.yml": text})


PAGE, TICKET = "ApiAvailabilityFastBurn", "ApiAvailabilitySlowBurn"


def test_ten_percent_errors_page_within_15_minutes(
    tmp_path: Path, availability: tuple[str, dict[str, Any]]
) -> None:
    _, alerts = availability
    fires = _expect(alerts, PAGE, "critical")
    clean_then_bad = [
        {"series": s["series"], "values": v}
        for s, v in zip(
            _requests(0, 0, 0),
            ["0+1000x60 60900+900x30", "0+0x60 100+100x30"],
            strict=True,
        )
    ]
    _check(
        tmp_path,
        availability,
        "1m",
        [
            {
                "interval": "1m",
                "input_series": _requests(900, 100, 30),
                "alert_rule_test": [{"eval_time": "15m", "alertname": PAGE, "exp_alerts": fires}],
            },
            {
                "interval": "1m",
                "input_series": clean_then_bad,
                "alert_rule_test": [
                    {"eval_time": "60m", "alertname": PAGE, "exp_alerts": []},
                    {"eval_time": "75m", "alertname": PAGE, "exp_alerts": fires},
                ],
            },
        ],
    )


def test_005_percent_stays_silent_and_05_percent_tickets_without_paging(
    tmp_path: Path, availability: tuple[str, dict[str, Any]]
) -> None:
    _, alerts = availability
    hours = [f"{h}h" for h in range(1, 73)]
    _check(
        tmp_path,
        availability,
        "5m",
        [
            {
                "interval": "1m",
                "input_series": _requests(999.5, 0.5, 3 * 24 * 60),
                "alert_rule_test": [
                    {"eval_time": h, "alertname": name, "exp_alerts": []}
                    for h in hours
                    for name in (PAGE, TICKET)
                ],
            },
            {
                "interval": "1m",
                "input_series": _requests(995, 5, 2 * 24 * 60),
                "alert_rule_test": [
                    {
                        "eval_time": "1d",
                        "alertname": TICKET,
                        "exp_alerts": _expect(alerts, TICKET, "warning"),
                    },
                    *({"eval_time": h, "alertname": PAGE, "exp_alerts": []} for h in hours[:48]),
                ],
            },
        ],
    )


# --- dashboard, docs, inhibition -----------------------------------------------------------


def test_dashboard_shows_budget_remaining_and_burn_rates() -> None:
    board = dashboard(with_slos(load(), BuildOptions()))
    row = board["panels"][0]
    assert (row["type"], row["title"]) == ("row", "Service-level objectives")
    panels = {p["title"]: p for p in board["panels"]}
    budget = panels["api-availability: error budget remaining"]
    assert budget["targets"][0]["expr"] == scope_expr(  # the dashboard's variables apply
        '1 - (sum_over_time(slo:sli_error:rate5m{slo="api-availability"}[30d])'
        ' / sum_over_time(slo:sli_total:rate5m{slo="api-availability"}[30d])) / 0.001',
        panel_scope(BuildOptions()),
    )
    assert budget["targets"][0]["instant"] is True
    steps = budget["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["color"] for s in steps] == ["red", "orange", "green"]
    burn = panels["api-latency: burn rate"]
    assert [t["legendFormat"] for t in burn["targets"]] == ["1h", "6h"]
    assert "api-availability: SLI over 30d (objective 99.9%)" in panels


def test_metrics_reference_lists_every_slo() -> None:
    text = metrics_md(with_slos(load(Shop), BuildOptions()))
    assert "## Service-level objectives" in text
    for name in ("api-availability", "api-latency", "orders", "checkout-latency"):
        assert f"### {name}" in text
    assert "While `ApiAvailabilityFastBurn` fires it mutes HighErrorRate." in text
    committed = (REPO / "docs" / "metrics.md").read_text()
    assert "### api-latency" in committed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager running the config generated with the core SLOs' inhibitions."""
    hook = tmp_path / "discord_webhook"
    hook.write_text(f"http://127.0.0.1:{_free_port()}/api/webhooks/1/x")
    opts = BuildOptions(webhook_files={s: str(hook) for s in ("critical", "warning", "info")})
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_yml(opts, with_slos(load(), opts)))
    port = _free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [
            find_tool("alertmanager"),
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail(
                "Alertmanager did not start:\n" + (tmp_path / "alertmanager.log").read_text()
            )
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _alert(name: str, severity: str, cluster: str, **labels: str) -> dict[str, Any]:
    base = {"alertname": name, "severity": severity, "job": "boss", "cluster": cluster}
    return {"labels": {**base, "environment": "prod", **labels}, "annotations": {"summary": name}}


def test_slo_page_mutes_the_threshold_alert_of_the_same_deployment(alertmanager: str) -> None:
    alerts = [
        _alert(PAGE, "critical", "c1", slo="api-availability"),
        _alert("HighErrorRate", "critical", "c1"),
        _alert("HighErrorRate", "critical", "c2"),  # another deployment: still pages
        _alert("ApiLatencyFastBurn", "critical", "c1", slo="api-latency"),
        _alert("SlowAPIResponses", "warning", "c1"),
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    states: dict[tuple[str, str], dict[str, Any]] = {}
    for _ in range(200):
        got = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=2).json()
        states = {(a["labels"]["alertname"], a["labels"]["cluster"]): a["status"] for a in got}
        if len(states) == 5 and all(s["state"] != "unprocessed" for s in states.values()):
            break
        time.sleep(0.1)
    assert states[("HighErrorRate", "c1")]["state"] == "suppressed", json.dumps(states)
    assert states[("HighErrorRate", "c1")]["inhibitedBy"]
    assert states[("HighErrorRate", "c2")]["state"] == "active"
    assert states[(PAGE, "c1")]["state"] == "active"
    assert states[("SlowAPIResponses", "c1")]["state"] == "suppressed"
    assert states[("ApiLatencyFastBurn", "c1")]["state"] == "active"
