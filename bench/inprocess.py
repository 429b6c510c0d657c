"""The HTTP apps of section 1 called directly as ASGI apps, without server or network.

Run as ``python -m bench.inprocess`` (pinned to the server CPU by section 1). Each request
is one ``await app(scope, receive, send)``; cost is the thread's CPU time per request, so
time the process spends descheduled by other processes does not count. Rounds interleave
the apps; the minimum over rounds is the least disturbed estimate, the median is shown too.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

__all__ = ("main",)

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/bench/tasks/42",
    "raw_path": b"/bench/tasks/42",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 40000),
    "server": ("127.0.0.1", 8000),
    "state": {},
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _apps() -> dict[str, Any]:
    from bench import apps

    def boss(env: dict[str, str]) -> Callable[[], Any]:
        def make() -> Any:
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                return apps.boss()
            finally:
                os.environ.clear()
                os.environ.update(saved)

        return make

    data = tempfile.mkdtemp(prefix="boss-bench-inproc-")
    base = {"BOSS_DATA_DIR": data, "BOSS_RATE_LIMIT__ENABLED": "false"}
    makers = {
        "boss_instrumented": boss({**base, "BOSS_METRICS__ENABLED": "true"}),
        "boss_uninstrumented": boss({**base, "BOSS_METRICS__ENABLED": "false"}),
        "litestar_plain": apps.litestar_plain,
        "litestar_prometheus": apps.litestar_prometheus,
        "fastapi_instrumentator": apps.fastapi_instrumentator,
    }
    return {name: make() for name, make in makers.items()}


async def _check(name: str, app: Any) -> None:
    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(dict(SCOPE), _receive, send)
    if status != [200]:
        raise RuntimeError(f"{name}: in-process request answered {status}")


async def _time(app: Any, count: int) -> float:
    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.thread_time()
    for _ in range(count):
        await app(dict(SCOPE), _receive, send)
    return (time.thread_time() - started) / count * 1e6


async def _run(rounds: int, count: int) -> dict[str, Any]:
    apps = _apps()
    for name, app in apps.items():
        await _check(name, app)
        await _time(app, count // 4)
    samples: dict[str, list[float]] = {name: [] for name in apps}
    gc.collect()
    for _ in range(rounds):
        for name, app in apps.items():
            samples[name].append(await _time(app, count))
    return samples


def main(rounds: int, count: int) -> dict[str, Any]:
    """CPU µs per in-process request for every app: min and median over ``rounds``."""
    samples = asyncio.run(_run(rounds, count))
    base = min(samples["litestar_plain"])
    return {
        name: {
            "cpu_us_min": round(min(values), 2),
            "cpu_us_median": round(sorted(values)[len(values) // 2], 2),
            "cpu_ratio_to_litestar": round(base / min(values), 3),
        }
        for name, values in samples.items()
    }


if __name__ == "__main__":
    print("INPROCJSON " + json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
