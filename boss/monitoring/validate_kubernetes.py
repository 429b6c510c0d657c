"""Validate Kubernetes objects offline: operator kinds by their CRD models, core kinds by schema.

Prometheus Operator kinds (PrometheusRule, ServiceMonitor, PodMonitor, AlertmanagerConfig)
are checked with the typed models of ``cloudcoil-models-prometheus-operator``; those accept
unknown fields silently, so each object is also compared with the model's own dump of it
and every key the model dropped is reported. Core kinds (ConfigMap, Deployment, Service, …)
go through ``kubernetes-validate`` in strict mode, which rejects unknown fields itself.
Both libraries are the optional extra ``boss[kubernetes]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from boss.monitoring.tools import CheckResult

__all__ = (
    "EXTRA",
    "KUBERNETES_VERSION",
    "KubernetesCheckUnavailableError",
    "ObjectProblem",
    "check_folder",
    "check_object",
    "kubernetes_checks",
)

KUBERNETES_VERSION = "1.33"
"""The Kubernetes API version core kinds are validated against."""
EXTRA = "boss[kubernetes]"
_INSTALL = f"pip install '{EXTRA}' (cloudcoil-models-prometheus-operator, kubernetes-validate)"
_KUSTOMIZE = "kustomize.config.k8s.io/"


class KubernetesCheckUnavailableError(RuntimeError):
    """The validation libraries of the ``boss[kubernetes]`` extra are not installed."""


@dataclass(frozen=True, slots=True)
class ObjectProblem:
    """One finding in one object of one file."""

    where: str
    """``file: Kind/name``."""
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _operator_models() -> dict[tuple[str, str], Any]:
    try:
        from cloudcoil.models.prometheus_operator import v1, v1alpha1
    except ImportError:
        raise KubernetesCheckUnavailableError(
            f"the Kubernetes checks need the {EXTRA} extra: {_INSTALL}"
        ) from None
    return {
        ("monitoring.coreos.com/v1", "PrometheusRule"): v1.PrometheusRule,
        ("monitoring.coreos.com/v1", "ServiceMonitor"): v1.ServiceMonitor,
        ("monitoring.coreos.com/v1", "PodMonitor"): v1.PodMonitor,
        ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): v1alpha1.AlertmanagerConfig,
    }


def _route_model() -> Any:
    from cloudcoil.models.prometheus_operator import v1alpha1

    return v1alpha1.Route


def _extras(given: Any, kept: Any, path: str) -> Iterator[str]:
    """Paths where ``given`` holds something the model's dump ``kept`` does not."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            yield f"{path or '.'}: expected {type(kept).__name__}"
            return
        for key, value in given.items():
            here = f"{path}.{key}" if path else str(key)
            if key not in kept:
                yield f"{here}: unknown field"
            else:
                yield from _extras(value, kept[key], here)
    elif isinstance(given, list) and isinstance(kept, list):
        for index, (a, b) in enumerate(zip(given, kept, strict=False)):
            yield from _extras(a, b, f"{path}[{index}]")
    elif given != kept and not (isinstance(given, int | float) and str(given) == str(kept)):
        yield f"{path}: {given!r} read back as {kept!r}"


def _pydantic(model: Any, obj: Any, path: str = "") -> list[str]:
    from pydantic import ValidationError

    try:
        parsed = model.model_validate(obj)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            loc = path
            for part in err["loc"]:
                loc += f"[{part}]" if isinstance(part, int) else f".{part}" if loc else str(part)
            out.append(f"{loc or '.'}: {err['msg']}")
        return out
    return list(
        _extras(obj, parsed.model_dump(by_alias=True, exclude_unset=True, mode="json"), path)
    )


def _alertmanager_routes(obj: dict[str, Any]) -> list[str]:
    """The CRD types nested routes as free JSON: validate each as a Route of its own."""
    out: list[str] = []
    route_model = _route_model()

    def walk(route: Any, path: str) -> None:
        if not isinstance(route, dict):
            return
        for index, child in enumerate(route.get("routes") or ()):
            here = f"{path}.routes[{index}]"
            plain = (
                {k: v for k, v in child.items() if k != "routes"}
                if isinstance(child, dict)
                else child
            )
            out.extend(_pydantic(route_model, plain, here))
            walk(child, here)

    walk((obj.get("spec") or {}).get("route"), "spec.route")
    return out


def check_object(obj: Any) -> list[str]:
    """Problems with one Kubernetes object (empty when it validates); ``[]`` for kustomizations."""
    if not isinstance(obj, dict):
        return ["not a mapping"]
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return ["apiVersion and kind are required strings"]
    if api.startswith(_KUSTOMIZE):
        return []
    models = _operator_models()
    if (api, kind) in models:
        problems = _pydantic(models[(api, kind)], obj)
        if kind == "AlertmanagerConfig":
            problems += _alertmanager_routes(obj)
        return problems
    if api.startswith("monitoring.coreos.com/"):
        return [f"no CRD model for {api} {kind}"]
    try:
        import kubernetes_validate
    except ImportError:
        raise KubernetesCheckUnavailableError(
            f"the Kubernetes checks need the {EXTRA} extra: {_INSTALL}"
        ) from None
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no Kubernetes {KUBERNETES_VERSION} schema for {api} {kind}"]
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "."
        return [f"{where}: {exc.message}"]
    return []


def _documents(path: Path) -> Iterable[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _name(obj: Any) -> str:
    if isinstance(obj, dict):
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        return f"{obj.get('kind', '?')}/{(meta or {}).get('name', '?')}"
    return "?"


def check_folder(folder: Path) -> tuple[int, list[ObjectProblem]]:
    """Validate every object of every ``*.yaml``/``*.yml`` file in ``folder``.

    Returns how many objects were checked and every problem found. A kustomization must
    list only files that exist. Raises KubernetesCheckUnavailableError without the extra.
    """
    count = 0
    problems: list[ObjectProblem] = []
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for path in files:
        try:
            docs = _documents(path)
        except yaml.YAMLError as exc:
            problems.append(ObjectProblem(path.name, f"not YAML: {exc}"))
            continue
        for obj in docs:
            where = f"{path.name}: {_name(obj)}"
            if isinstance(obj, dict) and str(obj.get("apiVersion", "")).startswith(_KUSTOMIZE):
                for resource in obj.get("resources") or ():
                    if "://" not in resource and not (folder / resource).exists():
                        problems.append(ObjectProblem(where, f"resource {resource!r} missing"))
                continue
            count += 1
            problems.extend(ObjectProblem(where, message) for message in check_object(obj))
    return count, problems


def kubernetes_checks(out: Path) -> list[CheckResult]:
    """One check per Kubernetes folder under ``out``: the generated objects, the manifests.

    ``monitoring/kubernetes`` always (the build writes it); ``deploy/kubernetes`` when the
    project has it. Without the extra, one failed result says which extra to install.
    """
    folders = [out / "monitoring" / "kubernetes"]
    if (out / "deploy" / "kubernetes").is_dir():
        folders.append(out / "deploy" / "kubernetes")
    results = []
    for folder in folders:
        name = f"kubernetes schemas {folder.relative_to(out).as_posix()}"
        command = ("boss", "monitoring", "check", f"[{name}]")
        if not folder.is_dir():
            results.append(CheckResult(name, command, False, f"{folder} is missing"))
            continue
        try:
            count, problems = check_folder(folder)
        except KubernetesCheckUnavailableError as exc:
            return [CheckResult("kubernetes schemas", command, False, str(exc))]
        if not count:
            results.append(CheckResult(name, command, False, f"no objects in {folder}"))
            continue
        summary = f"{count} objects (CRD models; Kubernetes {KUBERNETES_VERSION} strict)"
        lines = "\n".join(str(p) for p in problems)
        results.append(CheckResult(name, command, not problems, lines or summary))
    return results
