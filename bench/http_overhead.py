"""Section 1: per-request cost of boss's HTTP instrumentation next to its peers.

All apps serve the same route and payload at the same time (one process each, pinned to
the server core); wrk runs them in interleaved rounds (A B C … A B C …) so that machine
drift hits every app alike. Ratios are per round against plain Litestar, then the median.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench._common import Options, log, median
from bench._measure import Measured, measure
from bench._servers import ROOT, Server, free_port, http_get, uvicorn_command
from bench._wrk import RANDOM_GET, run_wrk

__all__ = ("BASELINE", "VARIANTS", "Variant", "count_series", "run")

BASELINE = "litestar_plain"
ROUTE = "/bench/tasks/42"
RANDOM_PREFIX = "/bench/tasks/"

RETRY_WINDOW = 60.0
"""Seconds into a set of rounds during which disturbed runs are repeated (bounds the run time)."""

DISTURBED = 0.2
"""Median share of the server core used by other processes above which no verdict is given."""

_NO_LIMIT = {"BOSS_RATE_LIMIT__ENABLED": "false"}


@dataclass(frozen=True)
class Variant:
    """One benchmarked app: its uvicorn factory, environment and metrics endpoint."""

    name: str
    factory: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    metrics_path: str = ""


VARIANTS = (
    Variant(
        "boss_instrumented",
        "boss",
        "boss (core + bench plugin), HTTP instrumentation on, rate limiting off",
        {"BOSS_METRICS__ENABLED": "true", **_NO_LIMIT},
        "/metrics",
    ),
    Variant(
        "boss_uninstrumented",
        "boss",
        "the same boss app with BOSS_METRICS__ENABLED=false, rate limiting off",
        {"BOSS_METRICS__ENABLED": "false", **_NO_LIMIT},
    ),
    Variant(BASELINE, "litestar_plain", "bare Litestar, same handler"),
    Variant(
        "litestar_prometheus",
        "litestar_prometheus",
        "Litestar + built-in PrometheusMiddleware(group_path=True)",
        metrics_path="/metrics",
    ),
    Variant(
        "fastapi_instrumentator",
        "fastapi_instrumentator",
        "FastAPI + prometheus-fastapi-instrumentator (defaults)",
        metrics_path="/metrics",
    ),
    Variant(
        "boss_full",
        "boss",
        "boss as deployed: instrumentation and in-process rate limiting (limit 10^9/min)",
        {"BOSS_METRICS__ENABLED": "true", "BOSS_RATE_LIMIT__REQUESTS": "1000000000"},
        "/metrics",
    ),
)


def count_series(body: bytes) -> int:
    """Sample lines in a Prometheus text exposition (one per series)."""
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


@contextlib.contextmanager
def _servers(options: Options, data_dir: str) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    try:
        for variant in VARIANTS:
            port = free_port()
            env = {"BOSS_DATA_DIR": data_dir, "BOSS_LOG_LEVEL": "WARNING", **variant.env}
            server = Server(
                variant.name, uvicorn_command(variant.factory, port), env, options.server_core, port
            )
            server.start()
            servers[variant.name] = server
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _rounds(
    options: Options, servers: dict[str, Server], names: list[str], script: str, rounds: int
) -> dict[str, list[Measured]]:
    out: dict[str, list[Measured]] = {name: [] for name in names}
    retry_until = time.monotonic() + RETRY_WINDOW
    for number in range(rounds):
        for name in names:
            path = "" if script else ROUTE
            run = measure(
                servers[name],
                servers[name].base + path,
                seconds=options.seconds,
                connections=options.connections,
                load_core=options.load_core,
                script=script,
                retries=1 if not options.quick and time.monotonic() < retry_until else 0,
            )
            out[name].append(run)
            log(
                f"  round {number + 1} {name:24} {run.wrk.rps:9.0f} req/s  "
                f"p99 {run.wrk.p99_ms:7.2f} ms  {run.cpu_us_per_request:6.0f} CPU-us/req  "
                f"others {run.others_share:.0%}"
            )
    return out


def _summarise(runs: dict[str, list[Measured]]) -> dict[str, Any]:
    base = runs[BASELINE]
    table: dict[str, Any] = {}
    for name, results in runs.items():
        pairs = list(zip(results, base, strict=True))
        table[name] = {
            "rps": median([r.wrk.rps for r in results]),
            "p50_ms": median([r.wrk.p50_ms for r in results]),
            "p99_ms": median([r.wrk.p99_ms for r in results]),
            "max_ms": median([r.wrk.max_ms for r in results]),
            "cpu_us_per_request": median([r.cpu_us_per_request for r in results]),
            "others_share": median([r.others_share for r in results]),
            "ratio_to_litestar": median([r.wrk.rps / b.wrk.rps for r, b in pairs]),
            "cpu_ratio_to_litestar": median(
                [b.cpu_us_per_request / r.cpu_us_per_request for r, b in pairs]
            ),
            "rounds": [r.as_dict() for r in results],
        }
    return table


def _in_process(options: Options) -> dict[str, Any]:
    """Section 1 without server and network: see ``bench/inprocess.py``."""
    rounds, count = (3, 500) if options.quick else (15, 2000)
    command = [sys.executable, "-m", "bench.inprocess", str(rounds), str(count)]
    if options.server_core is not None:
        command = ["taskset", "-c", str(options.server_core), *command]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("INPROCJSON "):
            result: dict[str, Any] = json.loads(line[len("INPROCJSON ") :])
            return {"rounds": rounds, "requests_per_round": count, "apps": result}
    raise RuntimeError(f"in-process benchmark failed:\n{done.stdout}\n{done.stderr}")


def _series(servers: dict[str, Server]) -> dict[str, int]:
    out = {}
    for variant in VARIANTS:
        if variant.metrics_path:
            out[variant.name] = count_series(
                http_get(servers[variant.name].base + variant.metrics_path)
            )
    return out


def run(options: Options) -> tuple[dict[str, Any], dict[str, int]]:
    """Run section 1; returns the result document and each server's peak RSS (KiB)."""
    names = [variant.name for variant in VARIANTS]
    with (
        tempfile.TemporaryDirectory(prefix="boss-bench-data-") as data_dir,
        _servers(options, data_dir) as servers,
    ):
        log("http: warming up")
        for name in names:
            run_wrk(
                servers[name].base + ROUTE,
                seconds=1,
                connections=options.connections,
                core=options.load_core,
            )
        log(f"http: fixed id, {options.rounds} interleaved rounds of {options.seconds:g} s")
        fixed = _rounds(options, servers, names, "", options.rounds)
        _series(servers)  # the first scrape may create the scrape's own series (Litestar's does)
        before = _series(servers)
        log("http: random task ids")
        random_names = [v.name for v in VARIANTS if v.metrics_path or v.name == BASELINE]
        random = _rounds(
            options,
            servers,
            random_names,
            RANDOM_GET.replace("{prefix}", RANDOM_PREFIX),
            min(options.rounds, 2),
        )
        after = _series(servers)
        rss = {f"http/{name}": servers[name].peak_rss_kib() for name in names}
    log("http: in-process (no server), CPU time per request")
    in_process = _in_process(options)
    for name, entry in in_process["apps"].items():
        log(
            f"  {name:24} {entry['cpu_us_min']:7.1f} CPU-us/req  {entry['cpu_ratio_to_litestar']:.2f}x"
        )
    fixed_table = _summarise(fixed)
    disturbed = median([r.others_share for runs in fixed.values() for r in runs])
    ratio = fixed_table["boss_instrumented"]["ratio_to_litestar"]
    pairs = list(zip(fixed["boss_instrumented"], fixed["boss_uninstrumented"], strict=True))
    cost = median([a.wrk.rps / b.wrk.rps for a, b in pairs])
    cpu_cost = median([b.cpu_us_per_request / a.cpu_us_per_request for a, b in pairs])
    cpu_ratio = fixed_table["boss_instrumented"]["cpu_ratio_to_litestar"]
    document = {
        "route": "GET /bench/tasks/{task_id} (outside /api/: no API key check; same JSON body everywhere)",
        "connections": options.connections,
        "rounds": options.rounds,
        "seconds_per_run": options.seconds,
        "variants": {v.name: v.description for v in VARIANTS},
        "fixed_id": fixed_table,
        "random_ids": _summarise(random),
        "in_process": in_process,
        "series_before_random": before,
        "series_after_random": after,
        "series_flat": before == after,
        "target": {
            "boss_instrumented_vs_litestar": ratio,
            "boss_instrumented_vs_uninstrumented": cost,
            "cpu_boss_instrumented_vs_litestar": cpu_ratio,
            "cpu_boss_instrumented_vs_uninstrumented": cpu_cost,
            "in_process_boss_instrumented_vs_litestar": in_process["apps"]["boss_instrumented"][
                "cpu_ratio_to_litestar"
            ],
            "in_process_instrumentation_us": round(
                in_process["apps"]["boss_instrumented"]["cpu_us_min"]
                - in_process["apps"]["boss_uninstrumented"]["cpu_us_min"],
                2,
            ),
            "goal": 0.95,
            "others_share_median": disturbed,
            "met": None if disturbed > DISTURBED else ratio >= 0.95,
        },
    }
    return document, rss
