"""``boss monitoring build`` as a library: load, validate, render in memory, verify, write.

Nothing touches the disk until every fragment validated, promtool accepted every query and
every rule unit test passed; ``--check`` compares the in-memory result with the disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from boss.loader import LoadedPlugin, PluginLoadError, load_plugins
from boss.monitoring.errors import BuildError, Problem
from boss.monitoring.options import BuildOptions
from boss.monitoring.render_alertmanager import alertmanager_yml
from boss.monitoring.render_docs import metrics_md
from boss.monitoring.render_grafana import (
    dashboard,
    dashboards_provisioning,
    datasource_provisioning,
    instance_dashboard,
)
from boss.monitoring.render_kubernetes import KUBERNETES_DIR, kubernetes_files
from boss.monitoring.render_prometheus import (
    AnnotationKey,
    annotation_key,
    open_annotation_keys,
    prometheus_yml,
    rule_files_for_tests,
    rules_yml,
    scoped_alerts,
    scoped_recording_rules,
    tests_yml,
)
from boss.monitoring.runbooks import RUNBOOKS_OUT, is_generated, runbook_files
from boss.monitoring.self_monitoring import SELF_MONITORING, is_scoped, self_monitoring
from boss.monitoring.slo import with_slos
from boss.monitoring.tools import find_tool, run_tool
from boss.monitoring.validate import validate, validate_slos
from boss.monitoring.yamlout import dump_json
from boss.settings import Settings, load_settings

__all__ = (
    "GENERATED_DIRS",
    "drift",
    "load_fragments",
    "render",
    "write",
)

GENERATED_DIRS = (
    "monitoring/prometheus/rules",
    "monitoring/prometheus/tests",
    "monitoring/grafana/dashboards",
    KUBERNETES_DIR,
)
"""Folders the build owns entirely: files it no longer renders there are removed."""

_TESTS = "monitoring/prometheus/tests"


def load_fragments(
    settings: Settings | None = None, plugins: Sequence[Any] | None = None
) -> list[LoadedPlugin]:
    """The enabled plugins (entry points, or ``plugins``) without starting an app."""
    try:
        return load_plugins(settings if settings is not None else load_settings(), plugins)
    except PluginLoadError as exc:
        raise BuildError([str(exc)]) from None


def _render_files(
    loaded: Sequence[LoadedPlugin],
    opts: BuildOptions,
    annotations: Mapping[str, Mapping[AnnotationKey, dict[str, str]]],
) -> dict[str, str]:
    files: dict[str, str] = {"monitoring/prometheus/prometheus.yml": prometheus_yml(loaded, opts)}
    for item in loaded:
        if item.plugin.alerts or item.plugin.recording_rules:
            files[f"monitoring/prometheus/rules/{item.name}.yml"] = rules_yml(item, opts)
    for item in loaded:
        if item.plugin.rule_tests:
            tests = tests_yml(item, loaded, annotations.get(item.name, {}), opts)
            for name, text in tests.items():
                files[f"{_TESTS}/{name}"] = text
    files["monitoring/alertmanager/alertmanager.yml"] = alertmanager_yml(opts, loaded)
    plugins = [item for item in loaded if is_scoped(item)]
    board = dashboard(plugins, opts)
    _check_panel_ids(board)
    files["monitoring/grafana/dashboards/boss.json"] = dump_json(board)
    per_instance = instance_dashboard(plugins, opts)
    _check_panel_ids(per_instance)
    files["monitoring/grafana/dashboards/boss-instances.json"] = dump_json(per_instance)
    files["monitoring/grafana/provisioning/datasources/prometheus.yml"] = datasource_provisioning(
        opts
    )
    files["monitoring/grafana/provisioning/dashboards/boss.yml"] = dashboards_provisioning()
    files["docs/metrics.md"] = metrics_md(plugins)
    return dict(sorted(files.items()))


def _check_panel_ids(board: dict[str, Any]) -> None:
    seen: dict[int, str] = {}
    for panel in board["panels"]:
        if panel["id"] in seen:
            raise BuildError(
                [f"panel ids collide: {seen[panel['id']]!r} and {panel['title']!r}; rename one"]
            )
        seen[panel["id"]] = panel["title"]


def _promql_syntax(
    loaded: Sequence[LoadedPlugin], opts: BuildOptions, promtool: str
) -> list[Problem]:
    """Let promtool parse every query and alert template, one group per fragment query.

    One group each means promtool's error names the group, which maps back to the plugin
    and fragment; alerts go in whole, so their label and annotation templates are parsed too.
    """
    where: list[tuple[LoadedPlugin, str]] = []
    groups: list[dict[str, Any]] = []

    def add(item: LoadedPlugin, fragment: str, rule: dict[str, Any]) -> None:
        groups.append({"name": str(len(where)), "rules": [rule]})
        where.append((item, fragment))

    for item in loaded:
        for rule in scoped_recording_rules(item, opts):
            add(item, f"recording rule {rule.record!r}", {"record": "q", "expr": rule.expr})
        for alert in scoped_alerts(item, opts):
            add(
                item,
                f"alert {alert.name!r}",
                {
                    "alert": "q",
                    "expr": alert.expr,
                    "labels": dict(alert.labels),
                    "annotations": {"summary": alert.summary, "description": alert.description},
                },
            )
        for panel in item.plugin.panels:
            for query in panel.queries:
                expr = re.sub(r"\$__\w+|\$\{[^}]*\}|\$\w+", "5m", query.expr)  # Grafana variables
                add(item, f"panel {panel.title!r}", {"record": "q", "expr": expr})
    if not groups:
        return []
    with tempfile.TemporaryDirectory(prefix="boss-promql-") as tmp:
        path = Path(tmp) / "queries.yml"
        path.write_text(json.dumps({"groups": groups}), encoding="utf-8")
        done = run_tool([promtool, "check", "rules", str(path)])
    if done.returncode == 0:
        return []
    problems = []
    output = done.stdout + done.stderr
    for match in re.finditer(r'group "(\d+)", rule \d+, "[^"]*": (.*)', output):
        item, fragment = where[int(match.group(1))]
        message = match.group(2)
        if message.startswith("could not parse expression"):
            message = f"invalid PromQL: {message}"
        problems.append(Problem(item.where, fragment, message))
    if not problems:
        problems.append(Problem("promtool", "queries", output.strip()))
    return problems


_GOT = re.compile(r"^\s*(Labels|Annotations):(\{.*\})\s*$")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _labels(text: str) -> dict[str, str]:
    out = {}
    for name, value in _PAIR.findall(text):
        try:
            out[name] = json.loads(f'"{value}"')
        except json.JSONDecodeError:
            out[name] = value
    return out


def _actual_annotations(output: str) -> dict[AnnotationKey, dict[str, str]]:
    """Read the alerts promtool got from a failed ``promtool test rules`` report."""
    found: dict[AnnotationKey, dict[str, str]] = {}
    test = alertname = eval_time = ""
    in_got = False
    labels: dict[str, str] = {}
    for line in output.splitlines():
        stripped = line.strip()
        if m := re.match(r"name: (.*),$", stripped):
            test = m.group(1)
        elif m := re.match(r"alertname: (.*), time: (.*),$", stripped):
            alertname, eval_time = m.group(1), m.group(2)
        elif stripped.startswith("exp:["):
            in_got = False
        elif stripped.startswith("got:["):
            in_got = True
        elif in_got and (m := _GOT.match(line)):
            if m.group(1) == "Labels":
                labels = _labels(m.group(2))
            else:
                key = annotation_key(test, alertname, eval_time, labels)
                found[key] = dict(sorted(_labels(m.group(2)).items()))
    return found


def _stage(files: Mapping[str, str], root: Path) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


_UNIT = re.compile(r"^Unit Testing:\s+(\S+)\s*$", re.MULTILINE)


def _run_tests(promtool: str, tests_dir: Path, names: Sequence[str]) -> dict[str, str | None]:
    """Run several test files in one promtool process: ``{name: None if passed, else output}``.

    One process per file cost more in startup than the small files take to run. promtool
    reports each file under a ``Unit Testing: <name>`` header, failures on stderr, so both
    streams go into one pipe (in order) and are split at the headers.
    """
    done = subprocess.run(
        [promtool, "test", "rules", *names],
        cwd=tests_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
        errors="replace",
        check=False,
        timeout=600,
    )
    output = done.stdout
    heads = list(_UNIT.finditer(output))
    sections = {
        head.group(1): output[head.end() : heads[i + 1].start() if i + 1 < len(heads) else None]
        for i, head in enumerate(heads)
    }
    results: dict[str, str | None] = {}
    for name in names:
        section = sections.get(name)
        if section is None:  # promtool stopped before this file: report everything it said
            results[name] = output
        elif done.returncode == 0 or section.strip().startswith("SUCCESS"):
            results[name] = None
        else:
            results[name] = f"Unit Testing: {name}{section}"
    return results


def _cache_key(
    item: LoadedPlugin, loaded: Sequence[LoadedPlugin], opts: BuildOptions, promtool: str
) -> str:
    """What promtool's annotations for a plugin's tests depend on: tests, rules, promtool."""
    tool = Path(promtool).stat()
    parts = [f"{promtool}:{tool.st_size}:{tool.st_mtime_ns}"]
    tests = tests_yml(item, loaded, {}, opts)
    parts += [f"{name}\0{text}" for name, text in sorted(tests.items())]
    by_name = {other.name: other for other in loaded}
    for name in rule_files_for_tests(item, loaded):
        other = by_name[name.removesuffix(".yml")]
        parts.append(f"{name}\0{rules_yml(other, opts)}")
    return hashlib.sha256("\0\0".join(parts).encode()).hexdigest()


def _cache_get(cache: Path, key: str) -> dict[AnnotationKey, dict[str, str]]:
    """The annotations remembered under ``key`` (empty when absent or unreadable)."""
    try:
        rows = json.loads((cache / f"{key}.json").read_text(encoding="utf-8"))
        return {
            (test, alert, int(ms), tuple((str(k), str(v)) for k, v in labels)): dict(found)
            for test, alert, ms, labels, found in rows
        }
    except (OSError, ValueError, TypeError):
        return {}


def _cache_put(cache: Path, key: str, found: Mapping[AnnotationKey, dict[str, str]]) -> None:
    """Remember verified annotations under ``key``; a cache that cannot be written is skipped."""
    rows = [[*k[:3], [list(p) for p in k[3]], v] for k, v in sorted(found.items())]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(rows, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache / f"{key}.json")
    except OSError:
        pass


def _rule_tests(
    loaded: Sequence[LoadedPlugin], opts: BuildOptions, promtool: str
) -> tuple[dict[str, str], list[Problem]]:
    """Render, fill in annotations promtool computes where fragments leave them open, run.

    Annotations come from the cache (``opts.cache_dir``) when the plugin's tests, the rule
    files they load and promtool are unchanged; otherwise from the first, failing run of the
    file. Only test files whose text changed by filling in are run again.
    """
    by_name = {item.name: item for item in loaded}
    tested = [item for item in loaded if item.plugin.rule_tests]
    open_keys = {item.name: set(open_annotation_keys(item, opts, loaded)) for item in tested}
    keys = (
        {item.name: _cache_key(item, loaded, opts, promtool) for item in tested}
        if opts.cache_dir
        else {}
    )
    annotations: dict[str, dict[AnnotationKey, dict[str, str]]] = {}
    for name, key in keys.items():
        assert opts.cache_dir is not None
        cached = _cache_get(opts.cache_dir, key)
        annotations[name] = {k: v for k, v in cached.items() if k in open_keys[name]}
    files = _render_files(loaded, opts, annotations)
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="boss-ruletest-") as tmp:
        tests_dir = Path(tmp) / _TESTS
        pending = sorted(rel.removeprefix(f"{_TESTS}/") for rel in files if rel.startswith(_TESTS))
        for _ in range(3):
            _stage(files, Path(tmp))
            workers = max(1, min(8, len(pending)))
            batches = [pending[i::workers] for i in range(workers)]
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for results in pool.map(partial(_run_tests, promtool, tests_dir), batches):
                    for name, output in results.items():
                        failures.pop(name, None)
                        if output is not None:
                            failures[name] = output
            learned = False
            for name in pending:
                if name not in failures:
                    continue
                plugin = name.split(".")[0]
                mine = annotations.setdefault(plugin, {})
                for akey, found in _actual_annotations(failures[name]).items():
                    if akey in open_keys.get(plugin, ()) and mine.get(akey) != found:
                        mine[akey] = found
                        learned = True
            if not learned:
                break
            rendered = _render_files(loaded, opts, annotations)
            pending = sorted(
                name
                for name in failures
                if rendered[f"{_TESTS}/{name}"] != files[f"{_TESTS}/{name}"]
            )
            files = rendered
            if not pending:
                break
    failed_plugins = {name.split(".")[0] for name in failures}
    if opts.cache_dir is not None:
        for name, key in keys.items():
            if name not in failed_plugins:
                mine = annotations.get(name, {})
                _cache_put(opts.cache_dir, key, {k: mine[k] for k in open_keys[name] if k in mine})
    by_plugin: dict[str, str] = {}
    for name, output in sorted(failures.items()):
        plugin = name.split(".")[0]
        by_plugin[plugin] = by_plugin.get(plugin, "") + output
    return files, [
        Problem(by_name[name].where, "rule tests", f"promtool test rules failed:\n{output.strip()}")
        for name, output in by_plugin.items()
    ]


def render(loaded: Sequence[LoadedPlugin], opts: BuildOptions | None = None) -> dict[str, str]:
    """Validate and render every generated file in memory: ``{relative path: text}``.

    Raises ``BuildError`` listing every problem; needs promtool (``make tools``) to parse
    the queries and run the rule unit tests.
    """
    opts = opts or BuildOptions()
    taken = [item.where for item in loaded if item.name == SELF_MONITORING]
    if taken:
        raise BuildError(
            [f"{taken[0]}: the name {SELF_MONITORING!r} is the build's own meta-alert group"]
        )
    problems = validate_slos(loaded, opts)
    if problems:
        raise BuildError(problems)
    loaded = with_slos(loaded, opts)  # SLOs become ordinary fragments of "slo-<name>"
    loaded = [*loaded, self_monitoring()]
    problems = validate(loaded, opts.runbooks_dir, opts.deployment_labels)
    if problems:
        raise BuildError(problems)
    promtool = find_tool("promtool")
    problems = _promql_syntax(loaded, opts, promtool)
    if problems:
        raise BuildError(problems)
    files, problems = _rule_tests(loaded, opts, promtool)
    if problems:
        raise BuildError(problems)
    files.update(runbook_files(loaded, opts.runbooks_dir)[0])
    return dict(sorted({**files, **kubernetes_files(files, opts)}.items()))


def _owned(out: Path) -> set[str]:
    """Generated files already on disk: everything in the folders the build owns, and the
    runbook copies it wrote (local override pages there are not the build's to remove)."""
    found = set()
    for folder in GENERATED_DIRS:
        base = out / folder
        if base.is_dir():
            found |= {p.relative_to(out).as_posix() for p in base.iterdir() if p.is_file()}
    runbooks = out / RUNBOOKS_OUT
    if runbooks.is_dir():
        for path in runbooks.glob("*.md"):
            with path.open(encoding="utf-8", errors="replace") as fh:
                if is_generated(fh.read(200)):
                    found.add(path.relative_to(out).as_posix())
    return found


def drift(files: Mapping[str, str], out: Path) -> list[str]:
    """Paths that differ from ``files`` on disk: changed, missing, or stale leftovers."""
    differ = []
    for rel, text in files.items():
        path = out / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            differ.append(rel)
    differ.extend(sorted(_owned(out) - set(files)))
    return sorted(differ)


def write(files: Mapping[str, str], out: Path) -> list[str]:
    """Write ``files`` under ``out`` (atomically each) and remove stale ones; return changes."""
    changed = drift(files, out)
    for rel in sorted(_owned(out) - set(files)):
        (out / rel).unlink()
    for rel, text in files.items():
        path = out / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return changed
