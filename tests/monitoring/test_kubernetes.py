"""monitoring/kubernetes/: the operator's objects carry the plain files, and validate offline."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from boss.cli._main import cli
from boss.loader import LoadedPlugin
from boss.monitoring import BuildError, BuildOptions, render, write
from boss.monitoring.render_kubernetes import (
    CONFIGMAP_MAX_BYTES,
    alertmanager_config,
    dashboard_configmap,
    kubernetes_objects,
)
from boss.monitoring.validate_kubernetes import (
    EXTRA,
    check_folder,
    check_object,
    kubernetes_checks,
)

from .conftest import REPO, load

pytestmark = pytest.mark.usefixtures("tools")

K8S = "monitoring/kubernetes"


@pytest.fixture(scope="module")
def k8s_build(
    tmp_path_factory: pytest.TempPathFactory, example_plugin: type[Any]
) -> tuple[list[LoadedPlugin], BuildOptions, dict[str, str], Path]:
    """core + the example plugin, rendered with a metrics token and written out."""
    root = tmp_path_factory.mktemp("k8s")
    loaded = load(example_plugin)
    runbooks = root / "runbooks"
    runbooks.mkdir()
    for item in loaded:
        for alert in item.plugin.alerts:
            (runbooks / alert.runbook_page).write_text(f"# {alert.name}\n")
    token = root / "metrics_token"
    token.write_text("t0ken")
    opts = BuildOptions(
        runbooks_dir=runbooks,
        metrics_token_file=str(token),
        kubernetes_namespace="team-a",
        kubernetes_labels={"release": "prom"},
        webhook_files={"critical": "/run/secrets/pager", "warning": "/w/hook", "info": "/w/hook"},
    )
    files = render(loaded, opts)
    write(files, root)
    return loaded, opts, files, root


def _objects(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {rel: yaml.safe_load(text) for rel, text in files.items() if rel.startswith(K8S)}


def test_prometheus_rules_carry_exactly_the_rule_files(k8s_build: Any) -> None:
    _, _, files, _ = k8s_build
    objects = _objects(files)
    rule_files = {
        rel: text for rel, text in files.items() if rel.startswith("monitoring/prometheus/rules/")
    }
    rules = {rel: obj for rel, obj in objects.items() if obj["kind"] == "PrometheusRule"}
    assert len(rules) == len(rule_files) >= 2
    for rel, text in rule_files.items():
        plugin = Path(rel).stem.replace("_", "-")  # object names are DNS labels
        obj = objects[f"{K8S}/prometheusrule-{plugin}.yaml"]
        assert obj["spec"]["groups"] == yaml.safe_load(text)["groups"]
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["labels"]["release"] == "prom"
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"


def test_dashboard_configmap_carries_exactly_the_json(k8s_build: Any) -> None:
    _, _, files, _ = k8s_build
    boards = {
        rel: t for rel, t in files.items() if rel.startswith("monitoring/grafana/dashboards/")
    }
    assert boards
    for rel, text in boards.items():
        name = Path(rel).name
        obj = _objects(files)[f"{K8S}/dashboard-{Path(rel).stem}.yaml"]
        assert obj["kind"] == "ConfigMap"
        assert obj["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert obj["data"] == {name: text}  # byte for byte, after a YAML round trip
        size = sum(len(k) + len(v.encode()) for k, v in obj["data"].items())
        assert size < CONFIGMAP_MAX_BYTES


def test_dashboard_too_large_for_a_configmap_fails_the_build() -> None:
    huge = json.dumps({"panels": ["x" * CONFIGMAP_MAX_BYTES]})
    with pytest.raises(BuildError, match=r"boss\.json: \d+ bytes do not fit in one ConfigMap"):
        dashboard_configmap("boss.json", huge, BuildOptions())
    fits = json.dumps({"panels": ["x" * (CONFIGMAP_MAX_BYTES // 2)]})
    assert dashboard_configmap("boss.json", fits, BuildOptions())["data"]["boss.json"] == fits


def test_service_monitor_scrapes_the_metrics_port_with_the_token_secret(k8s_build: Any) -> None:
    _, opts, files, _ = k8s_build
    obj = _objects(files)[f"{K8S}/servicemonitor.yaml"]
    (endpoint,) = obj["spec"]["endpoints"]
    assert endpoint["port"] == "http"
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == opts.scrape_interval
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "boss-metrics", "key": "token"},
    }
    assert {"action": "replace", "targetLabel": "job", "replacement": "boss"} in endpoint[
        "relabelings"
    ]
    assert obj["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "boss"}}
    assert obj["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}
    plain = kubernetes_objects(files, BuildOptions())[f"{K8S}/servicemonitor.yaml"]
    assert "authorization" not in plain["spec"]["endpoints"][0]


def _matchers(items: list[dict[str, str]]) -> list[str]:
    return [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in items]


def test_alertmanager_config_has_the_same_routes_inhibitions_and_receivers(
    k8s_build: Any,
) -> None:
    _, _, files, _ = k8s_build
    plain = yaml.safe_load(files["monitoring/alertmanager/alertmanager.yml"])
    spec = _objects(files)[f"{K8S}/alertmanagerconfig.yaml"]["spec"]
    route, want = spec["route"], plain["route"]
    assert route["receiver"] == want["receiver"]
    assert route["groupBy"] == want["group_by"]
    assert route["groupWait"] == want["group_wait"]
    assert route["repeatInterval"] == want["repeat_interval"]
    assert len(route["routes"]) == len(want["routes"])
    for got, exp in zip(route["routes"], want["routes"], strict=True):
        assert got["receiver"] == exp["receiver"]
        assert _matchers(got["matchers"]) == [m.replace(" ", "") for m in exp["matchers"]]
    assert len(spec["inhibitRules"]) == len(plain["inhibit_rules"])
    for got, exp in zip(spec["inhibitRules"], plain["inhibit_rules"], strict=True):
        assert _matchers(got["sourceMatch"]) == exp["source_matchers"]
        assert _matchers(got["targetMatch"]) == exp["target_matchers"]
        assert got["equal"] == exp["equal"]
    receivers = {r["name"]: r for r in spec["receivers"]}
    assert set(receivers) == {r["name"] for r in plain["receivers"]}
    critical = receivers["discord-critical"]["discordConfigs"][0]
    assert critical["apiURL"] == {"name": "boss-alertmanager", "key": "pager"}
    assert receivers["discord-info"]["discordConfigs"][0]["apiURL"]["key"] == "hook"
    plain_critical = next(r for r in plain["receivers"] if r["name"] == "discord-critical")
    assert critical["title"] == plain_critical["discord_configs"][0]["title"]
    assert critical["message"] == plain_critical["discord_configs"][0]["message"]
    assert critical["sendResolved"] is True


def test_alertmanager_translation_of_older_forms_and_unknown_keys() -> None:
    text = yaml.safe_dump(
        {
            "route": {
                "receiver": "a",
                "routes": [{"receiver": "b", "match": {"x": "1"}, "match_re": {"y": "2|3"}}],
            },
            "inhibit_rules": [{"source_match": {"s": "1"}, "target_match_re": {"t": ".+"}}],
            "receivers": [
                {"name": "a"},
                {"name": "b", "webhook_configs": [{"url_file": "/s/dms", "send_resolved": False}]},
            ],
        }
    )
    spec = alertmanager_config(text, BuildOptions())["spec"]
    assert _matchers(spec["route"]["routes"][0]["matchers"]) == ['x="1"', 'y=~"2|3"']
    assert spec["inhibitRules"] == [
        {
            "sourceMatch": [{"name": "s", "matchType": "=", "value": "1"}],
            "targetMatch": [{"name": "t", "matchType": "=~", "value": ".+"}],
        }
    ]
    assert spec["receivers"][1]["webhookConfigs"] == [
        {"sendResolved": False, "urlSecret": {"name": "boss-alertmanager", "key": "dms"}}
    ]
    assert check_object(alertmanager_config(text, BuildOptions())) == []
    for bad, key in (
        ({"route": {"receiver": "a", "mute_time_intervals": ["x"]}}, "mute_time_intervals"),
        ({"route": {"receiver": "a"}, "receivers": [{"name": "a", "slack_configs": []}]}, "slack"),
        ({"route": {"receiver": "a"}, "time_intervals": []}, "time_intervals"),
        (
            {
                "route": {"receiver": "a"},
                "receivers": [
                    {"name": "a", "discord_configs": [{"webhook_url_file": "/x/hook"}]},
                    {"name": "b", "discord_configs": [{"webhook_url_file": "/y/hook"}]},
                ],
            },
            "would share one Secret key",
        ),
    ):
        with pytest.raises(BuildError, match=key):
            alertmanager_config(yaml.safe_dump(bad), BuildOptions())


def test_every_generated_object_validates(k8s_build: Any) -> None:
    _, _, files, root = k8s_build
    count, problems = check_folder(root / K8S)
    assert problems == []
    assert count == len(_objects(files))  # every file is one API object
    kinds = sorted(obj["kind"] for obj in _objects(files).values())
    assert kinds == sorted(
        ["AlertmanagerConfig", "ServiceMonitor"]
        + ["ConfigMap"] * sum(rel.startswith("monitoring/grafana/dashboards/") for rel in files)
        + ["PrometheusRule"] * sum(rel.startswith("monitoring/prometheus/rules/") for rel in files)
    )


def _planted(objects: dict[str, dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Broken copies of the generated objects and the problem each must produce."""

    def broken(kind: str, change: Any) -> dict[str, Any]:
        obj = copy.deepcopy(next(o for o in objects.values() if o["kind"] == kind))
        change(obj)
        return obj

    rule = "PrometheusRule"
    return [
        (broken(rule, lambda o: o["spec"]["groups"][0]["rules"][0].update(exprr="x")), "exprr: unknown field"),
        (broken(rule, lambda o: o["spec"]["groups"][0].update(rules="x")), "rules: Input should be a valid list"),
        (broken(rule, lambda o: o["spec"]["groups"][0].pop("name")), "groups[0].name: Field required"),
        (broken("ServiceMonitor", lambda o: o["spec"]["endpoints"][0].update(intervall="5s")), "intervall: unknown field"),
        (broken("ServiceMonitor", lambda o: o["spec"]["endpoints"][0].update(interval=15)), "interval: Input should be a valid string"),
        (broken("ServiceMonitor", lambda o: o["spec"].pop("selector")), "spec.selector: Field required"),
        (broken("AlertmanagerConfig", lambda o: o["spec"]["route"]["routes"][0].update(groupwait="1s")), "routes[0].groupwait: unknown field"),
        (broken("AlertmanagerConfig", lambda o: o["spec"]["route"]["routes"][1]["matchers"][0].update(matchType="==")), "routes[1].matchers[0].matchType: Input should be"),
        (broken("AlertmanagerConfig", lambda o: next(r for r in o["spec"]["receivers"] if "discordConfigs" in r)["discordConfigs"][0].pop("apiURL")), "apiURL: Field required"),
        (broken("AlertmanagerConfig", lambda o: o["spec"]["inhibitRules"][0].update(equals=["x"])), "equals: unknown field"),
        (broken("ConfigMap", lambda o: o["metadata"].update(label={})), "'label' was unexpected"),
        (broken("ConfigMap", lambda o: o["data"].update(extra=3)), "data.extra: 3 is not of type"),
        (broken("ConfigMap", lambda o: o.update(kind="Configmap")), "kind: 'Configmap' is not one of"),
        (broken("ConfigMap", lambda o: o.update(apiVersion="v9")), "no Kubernetes 1.33 schema for v9 ConfigMap"),
    ]  # fmt: skip


def test_the_check_bites_on_planted_objects(k8s_build: Any) -> None:
    _, _, files, _ = k8s_build
    for obj, expected in _planted(_objects(files)):
        problems = check_object(obj)
        assert any(expected in p for p in problems), (expected, problems)


def test_cli_check_fails_on_a_planted_object_and_names_it(k8s_build: Any, tmp_path: Path) -> None:
    _, _, files, _ = k8s_build
    write(files, tmp_path)
    done = CliRunner().invoke(cli, ["monitoring", "check", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "ok   kubernetes schemas monitoring/kubernetes" in done.output
    path = tmp_path / K8S / "servicemonitor.yaml"
    obj = yaml.safe_load(path.read_text())
    obj["spec"]["endpoints"][0]["bearerTokenFilee"] = "/x"
    path.write_text(yaml.safe_dump(obj))
    done = CliRunner().invoke(cli, ["monitoring", "check", "--out", str(tmp_path)])
    assert done.exit_code == 1
    assert "FAIL kubernetes schemas monitoring/kubernetes" in done.output
    assert (
        "servicemonitor.yaml: ServiceMonitor/boss: spec.endpoints[0].bearerTokenFilee: unknown field"
        in done.output
    )


def test_check_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch, k8s_build: Any) -> None:
    _, _, _, root = k8s_build
    monkeypatch.setitem(sys.modules, "cloudcoil.models.prometheus_operator", None)
    (result,) = kubernetes_checks(root)
    assert not result.ok
    assert EXTRA in result.output
    assert "pip install" in result.output


def test_cli_kubernetes_options(tmp_path: Path) -> None:
    from .test_output import core_only_runner

    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for item in load():
        for alert in item.plugin.alerts:
            (runbooks / alert.runbook_page).write_text("# x\n")
    runner = core_only_runner()
    runner.env["BOSS_MONITORING__KUBERNETES_NAMESPACE"] = "ops"
    args = ["monitoring", "build", "--out", str(tmp_path), "--runbooks-dir", str(runbooks)]
    args += ["--kubernetes-label", "release=kps", "--kubernetes-label", "team=a"]
    args += ["--kubernetes-selector", "app=boss-api", "--kubernetes-metrics-port", "web"]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    monitor = yaml.safe_load((tmp_path / K8S / "servicemonitor.yaml").read_text())
    assert monitor["metadata"]["namespace"] == "ops"
    assert monitor["metadata"]["labels"] == {
        "app.kubernetes.io/part-of": "boss",
        "release": "kps",
        "team": "a",
    }
    assert monitor["spec"]["selector"]["matchLabels"] == {"app": "boss-api"}
    assert monitor["spec"]["endpoints"][0]["port"] == "web"
    for bad in (
        ["--kubernetes-namespace", "Not_A_Name"],
        ["--kubernetes-label", "novalue"],
        ["--kubernetes-alertmanager-secret", "UPPER"],
    ):
        done = runner.invoke(cli, [*args, *bad])
        assert done.exit_code == 2
        assert bad[0] in done.output


def test_committed_kubernetes_objects_validate() -> None:
    """The repository's generated objects and deploy/kubernetes pass the same check."""
    results = kubernetes_checks(REPO)
    assert [r.name for r in results] == [
        "kubernetes schemas monitoring/kubernetes",
        "kubernetes schemas deploy/kubernetes",
    ]
    for result in results:
        assert result.ok, result.output


def test_objects_follow_whatever_the_plain_files_hold(k8s_build: Any) -> None:
    """Derived from the rendered text, not the fragments: a change there shows up here."""
    _, opts, files, _ = k8s_build
    changed = dict(files)
    rel = "monitoring/prometheus/rules/core.yml"
    groups = yaml.safe_load(files[rel])["groups"]
    groups.append({"name": "extra", "interval": "30s", "rules": [{"record": "r", "expr": "1"}]})
    changed[rel] = yaml.safe_dump({"groups": groups})
    am = yaml.safe_load(files["monitoring/alertmanager/alertmanager.yml"])
    am["route"]["routes"].insert(
        0, {"receiver": "discord-info", "matchers": ['alertname="Watchdog"']}
    )
    changed["monitoring/alertmanager/alertmanager.yml"] = yaml.safe_dump(am)
    changed["monitoring/grafana/dashboards/slo.json"] = json.dumps({"title": "SLOs"})
    objects = kubernetes_objects(changed, opts)
    assert objects[f"{K8S}/prometheusrule-core.yaml"]["spec"]["groups"] == groups
    first = objects[f"{K8S}/alertmanagerconfig.yaml"]["spec"]["route"]["routes"][0]
    assert first["matchers"] == [{"name": "alertname", "matchType": "=", "value": "Watchdog"}]
    assert objects[f"{K8S}/dashboard-slo.yaml"]["data"] == {"slo.json": '{"title": "SLOs"}'}
    for obj in objects.values():
        assert check_object(obj) == []
