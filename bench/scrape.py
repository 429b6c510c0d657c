"""Section 2: what ``/metrics`` costs at 1k, 10k and 100k series, and whether it stalls the API.

Synthetic series come from the bench plugin (``BOSS_BENCH__SERIES``). Single process runs
under uvicorn like section 1; the two-worker case is the real ``boss serve --workers 2``
(prometheus-client multiprocess mode), which finds the bench plugin through an entry point
visible only to that process. While a client scrapes back to back, wrk measures the API.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from bench._common import Options, log, median
from bench._measure import Measured, measure
from bench._servers import (
    VENV_BIN,
    Server,
    bench_plugin_path,
    disable_builtin_plugins,
    free_port,
    http_get,
    uvicorn_command,
)
from bench.http_overhead import ROUTE, count_series
from boss.metrics_endpoint import RENDER_MAX_AGE

__all__ = ("SIZES", "run")

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
ADMIN_KEY = "bench-admin-key-0123456789"
_PROBE = re.compile(rb'^bench_synthetic_total\{[^}]*item="item-0"[^}]*\} ([0-9.e+]+)$', re.M)


def _env(series: int, data_dir: str) -> dict[str, str]:
    return {
        "BOSS_DATA_DIR": data_dir,
        "BOSS_API_KEYS": f"bench:admin:{ADMIN_KEY}",
        "BOSS_BENCH__SERIES": str(series),
        "BOSS_METRICS__ENABLED": "true",
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def _server(mode: str, series: int, options: Options) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="boss-bench-data-") as data_dir:
        port = free_port()
        env = _env(series, data_dir)
        if mode == "single":
            server = Server(
                f"boss/{series}", uvicorn_command("boss", port), env, options.server_core, port
            )
            with server:
                yield server
            return
        with bench_plugin_path() as entry_points:
            env |= {
                "PYTHONPATH": entry_points,
                "BOSS_PLUGINS__DISABLED": disable_builtin_plugins(set()),
            }
            command = [
                str(VENV_BIN / "boss"),
                "serve",
                "--workers",
                "2",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            server = Server(f"boss-2w/{series}", command, env, options.server_core, port, workers=2)
            with server:
                yield server


def _wait_for_series(server: Server, expected: float, timeout: float = 120.0) -> None:
    """Wait until the probe series adds up every worker (each one increments it once)."""
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        found = _PROBE.search(http_get(server.base + "/metrics", timeout=60))
        value = float(found.group(1)) if found else 0.0
        if value >= expected:
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name}: probe series is {value}, expected {expected} (one per worker); "
        f"server log:\n{server.log.read_text()[-2000:]}"
    )


def _scrape(server: Server) -> tuple[float, int, int]:
    started = time.perf_counter()
    body = http_get(server.base + "/metrics", timeout=120)
    return (time.perf_counter() - started) * 1000, len(body), count_series(body)


def _fresh_scrape(server: Server) -> tuple[float, int, int]:
    """A scrape that renders: waits out the multiprocess-mode reuse of a recent body."""
    time.sleep(RENDER_MAX_AGE + 0.05)
    return _scrape(server)


def _under_scrapes(server: Server, options: Options, seconds: float) -> dict[str, Any]:
    """API latency alone, then while a client scrapes back to back."""

    def load() -> Measured:
        return measure(
            server,
            server.base + ROUTE,
            seconds=seconds,
            connections=options.connections,
            load_core=options.load_core,
        )

    alone = load()
    stop = threading.Event()
    latencies: list[float] = []

    def scraper() -> None:
        while not stop.is_set():
            latencies.append(_scrape(server)[0])

    thread = threading.Thread(target=scraper, daemon=True)
    thread.start()
    try:
        loaded = load()
    finally:
        stop.set()
        thread.join(timeout=120)
    return {
        "api_alone": alone.as_dict(),
        "api_while_scraping": loaded.as_dict(),
        "scrapes_during_load": len(latencies),
        "scrape_ms_during_load": median(latencies),
        "p99_increase_ms": round(loaded.wrk.p99_ms - alone.wrk.p99_ms, 3),
    }


def run(options: Options) -> tuple[dict[str, Any], dict[str, int]]:
    """Run section 2; returns the result document and peak RSS per server (KiB)."""
    sizes = QUICK_SIZES if options.quick else SIZES
    results: dict[str, Any] = {"single": {}, "workers_2": {}}
    rss: dict[str, int] = {}
    for mode, key, workers in (("single", "single", 1), ("workers", "workers_2", 2)):
        for series in sizes:
            log(f"scrape: {key}, {series} synthetic series")
            with _server(mode, series, options) as server:
                _wait_for_series(server, float(workers))
                count = 2 if options.quick or series >= 100_000 else 10
                samples = [_fresh_scrape(server) for _ in range(count)]
                entry: dict[str, Any] = {
                    "scrapes": count,
                    "scrape_ms_median": median([s[0] for s in samples]),
                    "scrape_ms_max": round(max(s[0] for s in samples), 3),
                    "body_bytes": samples[-1][1],
                    "series_exposed": samples[-1][2],
                }
                if series == sizes[-1]:
                    entry["concurrent"] = _under_scrapes(
                        server, options, max(options.seconds * 2, 6.0)
                    )
                    load = entry["concurrent"]
                    log(
                        f"  API p99 {load['api_alone']['p99_ms']} ms alone, "
                        f"{load['api_while_scraping']['p99_ms']} ms while scraping "
                        f"({load['scrapes_during_load']} scrapes)"
                    )
                rss[f"scrape/{key}/{series}"] = server.peak_rss_kib()
                log(
                    f"  /metrics {entry['scrape_ms_median']} ms, {entry['body_bytes']} bytes, "
                    f"{entry['series_exposed']} series"
                )
                results[key][str(series)] = entry
    return {
        "sizes": list(sizes),
        "note": "series_exposed counts every sample line (synthetic + core metrics)",
        **results,
    }, rss
