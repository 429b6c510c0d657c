"""deploy/kubernetes: the manifests validate strictly and keep the promises ops rely on."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from boss.monitoring.validate_kubernetes import check_folder, check_object
from tests.e2e.tools import REPO_ROOT, venv_bin

from .containerfile import read_stages

DEPLOY = REPO_ROOT / "deploy" / "kubernetes"


def _objects() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] != "Kustomization":
                out[doc["kind"]] = doc
    return out


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return _objects()


def test_every_manifest_validates_strictly() -> None:
    count, problems = check_folder(DEPLOY)
    assert problems == []
    assert count == 7


def test_kustomization_lists_the_manifests_but_not_the_example_secret() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "boss"
    resources = kustomization["resources"]
    assert all((DEPLOY / name).is_file() for name in resources)
    assert "secret.example.yaml" not in resources
    optional = {"kustomization.yaml", "secret.example.yaml", "db-upgrade-job.yaml"}
    listed = {p.name for p in DEPLOY.glob("*.yaml")} - optional
    assert set(resources) == listed
    assert [image["name"] for image in kustomization["images"]] == ["boss"]


def test_deployment_replicas_probes_resources_and_migrations(objects: dict[str, Any]) -> None:
    deployment = objects["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    for box in [*pod["initContainers"], container]:
        assert {"cpu", "memory"} <= set(box["resources"]["requests"]), box["name"]
        assert "memory" in box["resources"]["limits"], box["name"]
        assert box["securityContext"]["allowPrivilegeEscalation"] is False
        assert box["securityContext"]["readOnlyRootFilesystem"] is True
        assert box["envFrom"] == [
            {"configMapRef": {"name": "boss-config"}},
            {"secretRef": {"name": "boss-secrets"}},
        ]
    (migrate,) = pod["initContainers"]
    assert migrate["args"] == ["db", "upgrade"]
    assert migrate["image"] == container["image"] == "boss"


def test_migration_job_alternative(objects: dict[str, Any]) -> None:
    job = objects["Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"] == ["db", "upgrade"]
    deployment = objects["Deployment"]["spec"]["template"]["spec"]
    assert container["envFrom"] == deployment["initContainers"][0]["envFrom"]
    assert pod["securityContext"]["runAsUser"] == deployment["securityContext"]["runAsUser"]


def test_pods_run_as_the_image_user(objects: dict[str, Any]) -> None:
    final = read_stages(REPO_ROOT / "Containerfile")[-1]
    uid = final.all("USER")[-1].split(":")[0]
    security = objects["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == uid


def test_config_and_secret_cover_what_boss_needs(objects: dict[str, Any]) -> None:
    config = objects["ConfigMap"]["data"]
    assert config["BOSS_SERVER__HOST"] == "0.0.0.0"
    assert config["BOSS_REDIS__URL"].startswith("redis://")
    secret = objects["Secret"]["stringData"]
    assert set(secret) == {"BOSS_DATABASE__URL", "BOSS_API_KEYS"}
    assert not set(config) & set(secret)


def test_service_pdb_and_service_monitor_select_the_pods(objects: dict[str, Any]) -> None:
    pod_labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = objects["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert (
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items()
        <= pod_labels.items()
    )
    assert (
        objects["PodDisruptionBudget"]["spec"]["minAvailable"]
        < objects["Deployment"]["spec"]["replicas"]
    )
    monitor = yaml.safe_load((REPO_ROOT / "monitoring/kubernetes/servicemonitor.yaml").read_text())
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    ports = {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["port"] in ports
    assert (
        monitor["metadata"]["namespace"]
        == yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["namespace"]
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["spec"].update(replica=2), "'replica' was unexpected"),
        (lambda d: d["spec"].update(replicas="2"), "replicas: '2' is not of type"),
        (
            lambda d: d["spec"]["template"]["spec"].pop("containers"),
            "'containers' is a required property",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"].update(
                httpget={}
            ),
            "'httpget' was unexpected",
        ),
    ],
)
def test_the_check_bites_on_a_broken_deployment(
    objects: dict[str, Any], change: Any, expected: str
) -> None:
    deployment = copy.deepcopy(objects["Deployment"])
    change(deployment)
    problems = check_object(deployment)
    assert any(expected in p for p in problems), problems


def test_cli_check_covers_deploy_kubernetes(tmp_path: Path) -> None:
    from boss.monitoring.validate_kubernetes import kubernetes_checks

    (tmp_path / "deploy").mkdir()
    target = tmp_path / "deploy" / "kubernetes"
    target.mkdir()
    broken = copy.deepcopy(_objects()["Service"])
    broken["spec"]["portz"] = []
    (target / "service.yaml").write_text(yaml.safe_dump(broken))
    results = {r.name: r for r in kubernetes_checks(tmp_path)}
    result = results["kubernetes schemas deploy/kubernetes"]
    assert not result.ok
    assert (
        "service.yaml: Service/boss: spec: Additional properties are not allowed ('portz'"
        in result.output
    )


def test_config_and_secret_are_settings_boss_accepts(
    objects: dict[str, Any], tmp_path: Path
) -> None:
    """`boss config show` (every plugin's section too) accepts the ConfigMap + Secret env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOSS_")}
    env |= objects["ConfigMap"]["data"] | objects["Secret"]["stringData"]
    env["BOSS_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [venv_bin("boss"), "config", "show"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "redis.boss.svc" in done.stdout
