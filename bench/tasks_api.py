"""Section 3: the task API (plugin ``tasks``) on PostgreSQL, with and without the Redis cache.

A fresh database is created (and dropped afterwards) through asyncpg; ``boss db upgrade``
migrates it. Two ``boss serve`` processes share it, one with the ``cache`` plugin disabled
and one caching in Redis (own database number and key prefix, deleted afterwards). wrk
creates tasks (POST, Lua body) and reads random existing ones (GET), 32 connections,
rounds interleaved. Requests go through ``/api/`` with an admin key; rate limiting is off
(it would cap a single client at 600 requests per minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import secrets
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._common import Options, log, median
from bench._measure import Measured, measure
from bench._servers import ROOT, VENV_BIN, Server, disable_builtin_plugins, free_port

__all__ = ("available", "run")

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
ADMIN_KEY = "bench-admin-key-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
CONNECTIONS = 32
SEEDED = 200

_CREATE = """
local n = 0
local assignees = {"alice", "bob", "carol", "dave"}
local priorities = {"low", "medium", "high", "urgent"}
request = function()
  n = n + 1
  local body = string.format(
    '{"title": "bench task %d", "assignee": "%s", "priority": "%s"}',
    n, assignees[n % 4 + 1], priorities[n % 4 + 1])
  return wrk.format("POST", "/api/db/tasks",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
""".replace("KEY", ADMIN_KEY)

_GET = """
local ids = {IDS}
request = function()
  return wrk.format("GET", "/api/db/tasks/" .. ids[math.random(1, #ids)],
    {["Authorization"] = "Bearer KEY"})
end
""".replace("KEY", ADMIN_KEY)


def available() -> str | None:
    """Why the section cannot run (tasks or cache plugin not installed), or ``None``."""
    names = {ep.name for ep in importlib.metadata.entry_points(group="boss.plugins")}
    missing = sorted({"tasks", "cache"} - names)
    if missing:
        return f"plugin(s) {', '.join(missing)} not installed (pip install -e plugins/<name>)"
    return None


def _pg(sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@contextlib.contextmanager
def _database() -> Iterator[str]:
    name = f"boss_bench_{secrets.token_hex(4)}"
    _pg(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _redis_namespace() -> Iterator[tuple[str, str]]:
    import redis

    db = 1 + secrets.randbelow(15)
    prefix = f"boss-bench-{secrets.token_hex(4)}:"
    url = f"{REDIS}/{db}"
    try:
        yield url, prefix
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


def _others(keep: set[str]) -> str:
    return disable_builtin_plugins(keep)


def _seed(server: Server, count: int) -> list[str]:
    ids = []
    for number in range(count):
        body = json.dumps({"title": f"seed {number}", "assignee": "alice"}).encode()
        request = urllib.request.Request(
            server.base + "/api/db/tasks",
            data=body,
            headers={**AUTH, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            ids.append(json.loads(answer.read())["id"])
    return ids


def _summary(runs: list[Measured]) -> dict[str, Any]:
    return {
        "rps": median([r.wrk.rps for r in runs]),
        "p50_ms": median([r.wrk.p50_ms for r in runs]),
        "p99_ms": median([r.wrk.p99_ms for r in runs]),
        "cpu_us_per_request": median([r.cpu_us_per_request for r in runs]),
        "others_share": median([r.others_share for r in runs]),
        "rounds": [r.as_dict() for r in runs],
    }


def run(options: Options) -> tuple[dict[str, Any], dict[str, int]]:
    """Run section 3 (or record why it was skipped)."""
    reason = available()
    if reason:
        log(f"tasks: skipped: {reason}")
        return {"skipped": reason}, {}
    with (
        tempfile.TemporaryDirectory(prefix="boss-bench-data-") as data_dir,
        _database() as database_url,
        _redis_namespace() as (redis_url, prefix),
    ):
        base_env = {
            "BOSS_DATA_DIR": data_dir,
            "BOSS_API_KEYS": f"bench:admin:{ADMIN_KEY}",
            "BOSS_DATABASE__URL": database_url,
            "BOSS_RATE_LIMIT__ENABLED": "false",
            "BOSS_LOG_LEVEL": "WARNING",
            "BOSS_DATABASE__POOL_SIZE": "10",
        }
        upgrade = subprocess.run(
            [str(VENV_BIN / "boss"), "db", "upgrade"],
            cwd=ROOT,
            env={**_environ(), **base_env, "BOSS_PLUGINS__DISABLED": _others({"tasks"})},
            capture_output=True,
            text=True,
            check=False,
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"boss db upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}")
        variants = {
            "no_cache": {**base_env, "BOSS_PLUGINS__DISABLED": _others({"tasks"})},
            "redis_cache": {
                **base_env,
                "BOSS_PLUGINS__DISABLED": _others({"tasks", "cache"}),
                "BOSS_REDIS__URL": redis_url,
                "BOSS_CACHE__PREFIX": prefix,
            },
        }
        servers: dict[str, Server] = {}
        try:
            for name, env in variants.items():
                port = free_port()
                command = [
                    str(VENV_BIN / "boss"),
                    "serve",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ]
                servers[name] = Server(
                    f"tasks/{name}", command, env, options.server_core, port, ready_path="/health"
                )
                servers[name].start()
            ids = _seed(servers["no_cache"], 20 if options.quick else SEEDED)
            get_script = _GET.replace("{IDS}", "{" + ",".join(f'"{i}"' for i in ids) + "}")
            runs: dict[str, dict[str, list[Measured]]] = {
                name: {"create": [], "get": []} for name in variants
            }
            for name in variants:  # warm up pools and caches
                for script in (_CREATE, get_script):
                    measure(
                        servers[name],
                        servers[name].base,
                        seconds=1,
                        connections=CONNECTIONS,
                        load_core=options.load_core,
                        script=script,
                    )
            for number in range(options.rounds):
                for name in variants:
                    for operation, script in (("create", _CREATE), ("get", get_script)):
                        result = measure(
                            servers[name],
                            servers[name].base,
                            seconds=options.seconds,
                            connections=CONNECTIONS,
                            load_core=options.load_core,
                            script=script,
                        )
                        runs[name][operation].append(result)
                        log(
                            f"  round {number + 1} {name:12} {operation:6} {result.wrk.rps:8.0f} req/s "
                            f"p50 {result.wrk.p50_ms:7.2f} ms p99 {result.wrk.p99_ms:7.2f} ms"
                        )
            rss = {f"tasks/{name}": server.peak_rss_kib() for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    return {
        "connections": CONNECTIONS,
        "database": "PostgreSQL 127.0.0.1:5432, fresh database (dropped afterwards)",
        "auth": "admin API key on /api/db/tasks; rate limiting disabled",
        "seeded_tasks_for_get": len(ids),
        "results": {
            name: {operation: _summary(items) for operation, items in ops.items()}
            for name, ops in runs.items()
        },
    }, rss


def _environ() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


_ = Path
