"""The fault-injection harness: real ``boss serve --workers N`` on PostgreSQL and Redis,
concurrent clients, scripted faults, a per-phase report and the reliability invariants.

Used by ``tests/chaos`` (a short CI run) and ``bench/soak.py`` (a long one). Everything it
breaks is its own: a private PostgreSQL cluster (``initdb`` + ``pg_ctl`` on a free port,
when the machine allows; otherwise a fresh database on the machine's server, and the
restart step is skipped with the reason printed), its own ``redis-server``, the fake
Discord (``tests/fakes/discord_server.py``) and the server's own worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.cache.redis_server import RedisServer
from tests.e2e.boss_server import boss_env
from tests.e2e.net import free_port, wait_for, wait_http_ok
from tests.e2e.processes import ProcessGroup
from tests.e2e.tools import REPO_ROOT, venv_bin
from tests.fakes.discord_server import DiscordServer, Reply

__all__ = (
    "ADMIN_KEY",
    "Chaos",
    "Phase",
    "PhaseStats",
    "Report",
    "check_invariants",
    "discord_policy",
    "private_postgres",
    "render",
)

ADMIN_KEY = "chaos-admin-key-0123456789"
PG_BIN = Path("/usr/lib/postgresql")
SHARED_PG = os.environ.get("BOSS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DIGEST = re.compile(r"^(\d+) tasks? created in the last")


def discord_policy(*, rate_limit_every: int = 3, server_error_every: int = 0) -> Any:
    """Answer 429 to every ``rate_limit_every``-th call (and 5xx to every ``server_error_every``-th)."""

    def policy(n: int) -> Reply:
        if server_error_every and n % server_error_every == 0:
            return Reply.server_error(503)
        if rate_limit_every and n % rate_limit_every == 0:
            return Reply.rate_limited(0.25, global_=n % (rate_limit_every * 5) == 0)
        return Reply.ok()

    return policy


# -- PostgreSQL -----------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port, run as the ``postgres`` user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.data = root / "data"
        self.bin = max(PG_BIN.glob("*/bin"), key=lambda p: int(p.parent.name))

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def _ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=200"
        args = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60"]
        if action in ("start", "restart"):
            args += ["-o", options, "-l", str(self.root / "postgres.log")]
        if action in ("stop", "restart"):
            args += ["-m", "fast"]
        self._as_postgres(*args, action)

    def start(self) -> None:
        shutil.chown(self.root, "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._ctl("stop")


def private_postgres(root: Path) -> tuple[PrivatePostgres | None, str]:
    """A started private cluster, or ``None`` and the reason it cannot run here."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return None, "not root (runuser is needed to run initdb as the postgres user)"
    if not list(PG_BIN.glob("*/bin/initdb")):
        return None, f"no initdb under {PG_BIN}"
    server = PrivatePostgres(root)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        return None, f"initdb/pg_ctl failed: {exc}"
    return server, ""


async def _admin(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


# -- the report -----------------------------------------------------------------------------


@dataclass
class PhaseStats:
    """What the clients saw during one phase."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    client_errors: Counter[str] = field(default_factory=Counter)
    post_errors: int = 0
    created: int = 0
    read: int = 0
    latencies: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.client_errors.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q * 100) - 1]


@dataclass
class Report:
    """The whole run: per-phase figures and the end-of-run checks."""

    phases: list[PhaseStats]
    created_ids: list[str] = field(default_factory=list)
    lost: int = 0
    missing_audit: int = 0
    rows: int = 0
    tasks_created_total: float = 0.0
    discord: dict[str, float] = field(default_factory=dict)
    discord_notified: int = 0
    largest_pass: int = 0
    """Most task events one Discord message carried (a pass of one worker, at least)."""
    outbox_pending: int = -1
    discord_settled_after: float = -1.0
    unhandled_in_log: int = 0
    skipped: list[str] = field(default_factory=list)
    workers_replaced: int = 0

    @property
    def created(self) -> int:
        return len(self.created_ids)


def render(report: Report) -> str:
    """The report as a Markdown table plus the end-of-run figures."""
    lines = [
        "| phase | requests | created | read | lost | 5xx | client errors | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in report.phases:
        errors = sum(p.client_errors.values())
        lines.append(
            f"| {p.name} | {p.requests} | {p.created} | {p.read} | - | {p.server_errors} | "
            f"{errors} | {p.quantile(0.5) * 1000:.0f} | {p.quantile(0.99) * 1000:.0f} |"
        )
    total = sum(p.requests for p in report.phases)
    lines.append(
        f"| **all** | {total} | {report.created} | {sum(p.read for p in report.phases)} | "
        f"{report.lost} | {sum(p.server_errors for p in report.phases)} | "
        f"{sum(sum(p.client_errors.values()) for p in report.phases)} | | |"
    )
    lines.append("")
    lines.append(
        f"rows in tasks: {report.rows}; tasks_created_total: {report.tasks_created_total:g}; "
        f"201s: {report.created}; lost: {report.lost}; missing audit: {report.missing_audit}"
    )
    lines.append(
        f"discord_messages_sent_total{{channel=tasks}}: {report.discord}; notifications shown "
        f"by Discord: {report.discord_notified}; outbox pending: {report.outbox_pending}; "
        f"settled {report.discord_settled_after:.1f} s after the load; largest message "
        f"carried {report.largest_pass} events"
    )
    lines.append(
        f"workers replaced: {report.workers_replaced}; unhandled errors in the log: {report.unhandled_in_log}"
    )
    for p in report.phases:
        for note in p.notes:
            lines.append(f"- {p.name}: {note}")
        if p.client_errors:
            lines.append(f"- {p.name}: client errors {dict(p.client_errors)}")
    for reason in report.skipped:
        lines.append(f"- skipped: {reason}")
    return "\n".join(lines)


def check_invariants(
    report: Report, *, fault_phases_allowing_503: tuple[str, ...] = ("pg-restart",)
) -> list[str]:
    """The reliability invariants; returns what is violated (empty: all hold)."""
    problems: list[str] = []
    for p in report.phases:
        if p.statuses.get(500):
            problems.append(f"{p.name}: {p.statuses[500]} answers were 500")
        other_5xx = p.server_errors - p.statuses.get(500, 0)
        if other_5xx and p.name not in fault_phases_allowing_503:
            problems.append(f"{p.name}: {other_5xx} answers were 5xx")
        if p.client_errors and p.name != "worker-kill":
            problems.append(f"{p.name}: client-level failures {dict(p.client_errors)}")
    if report.lost:
        problems.append(f"{report.lost} created tasks are not readable")
    if report.missing_audit:
        problems.append(f"{report.missing_audit} created tasks have no 'created' audit entry")
    uncertain = sum(p.post_errors for p in report.phases)
    # A worker SIGKILLed between a COMMIT and its counter increment takes the increment
    # with it: only the killed worker's unanswered POSTs may make up that difference.
    killed = sum(p.post_errors for p in report.phases if p.name == "worker-kill")
    if not report.rows - killed <= report.tasks_created_total <= report.rows:
        problems.append(
            f"tasks_created_total {report.tasks_created_total:g} != {report.rows} rows in tasks"
        )
    if not report.created <= report.rows <= report.created + uncertain:
        problems.append(
            f"{report.rows} rows for {report.created} 201s (+{uncertain} POSTs without answer)"
        )
    ended = sum(report.discord.values())
    # Exactly once, SIGKILLed worker included: the count is taken inside the transaction
    # that deletes the events, just before its COMMIT (boss.outbox).
    if ended != report.rows:
        problems.append(f"Discord accounted for {ended:g} task events, expected {report.rows}")
    for status in ("failed", "dropped", "unsent"):
        if report.discord.get(status):
            problems.append(f"{report.discord[status]:g} notifications ended {status}")
    if report.discord_notified < report.discord.get("sent", 0) + report.discord.get("coalesced", 0):
        problems.append(
            f"Discord shows {report.discord_notified} notifications, fewer than counted delivered"
        )
    if report.outbox_pending:
        problems.append(f"{report.outbox_pending} events still in the outbox")
    if report.unhandled_in_log:
        problems.append(f"{report.unhandled_in_log} unhandled errors in the server log")
    return problems


# -- the stack ------------------------------------------------------------------------------


def _metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _worker_pids(parent: int) -> set[int]:
    from tests.core.test_worker_death import worker_pids

    return worker_pids(parent)


class Chaos:
    """Owns every process of a run and the faults that can be injected into them."""

    def __init__(self, root: Path, *, workers: int = 2, private_pg: bool = True) -> None:
        self.root = root
        self.workers = workers
        self.processes = ProcessGroup(root / "logs")
        self.redis = RedisServer(_mkdir(root / "redis"))
        self.discord = DiscordServer()
        self.pg: PrivatePostgres | None = None
        self.pg_reason = "a private cluster was not requested"
        self.want_private_pg = private_pg
        self.admin_dsn = SHARED_PG
        self.db_name = f"boss_chaos_{secrets.token_hex(4)}"
        self.port = free_port()
        self.server: Any = None
        self.skipped: list[str] = []

    # lifecycle

    def start(self) -> None:
        if self.want_private_pg:
            # directly under /tmp: the postgres user cannot enter pytest's private tmp dirs
            self.pg, self.pg_reason = private_postgres(Path(tempfile.mkdtemp(prefix="boss-pg-")))
        if self.pg is not None:
            self.admin_dsn = self.pg.dsn
        asyncio.run(_admin(self.admin_dsn, f'CREATE DATABASE "{self.db_name}"'))
        self.redis.start()
        self.discord.start()
        env = boss_env(self.env())
        subprocess.run(
            [venv_bin("boss"), "db", "upgrade"], env=env, cwd=REPO_ROOT, check=True,
            capture_output=True, timeout=120,
        )  # fmt: skip
        self.server = self.processes.start(
            "boss",
            [venv_bin("boss"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers), "--log-level", "info"],
            env=env,
            cwd=REPO_ROOT,
        )  # fmt: skip
        wait_http_ok(
            f"{self.url}/health",
            timeout=180,
            detail=self.server.describe,
            alive=self.server.running,
        )
        wait_for(
            "every worker", lambda: len(_worker_pids(self.server.pid)) == self.workers, timeout=120
        )

    def stop(self) -> None:
        self.processes.close()
        self.discord.stop()
        self.redis.stop()
        with contextlib.suppress(Exception):
            asyncio.run(
                _admin(self.admin_dsn, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            )
        if self.pg is not None:
            self.pg.stop()
            shutil.rmtree(self.pg.root, ignore_errors=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[Chaos]:
        try:
            self.start()
            yield self
        finally:
            self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_url(self) -> str:
        port = self.pg.port if self.pg is not None else 5432
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{self.db_name}"

    @property
    def db_dsn(self) -> str:
        return self.db_url.replace("+asyncpg", "")

    def env(self) -> dict[str, str]:
        return {
            "BOSS_DATA_DIR": str(self.root / "data"),
            "BOSS_API_KEYS": f"chaos:admin:{ADMIN_KEY}",
            "BOSS_DATABASE__URL": self.db_url,
            "BOSS_DATABASE__POOL_TIMEOUT": "10",
            "BOSS_REDIS__URL": self.redis.url,
            "BOSS_RATE_LIMIT__REQUESTS": "1000000",
            "BOSS_DISCORD__WEBHOOKS__TASKS": self.discord.webhook_url("tasks"),
            "BOSS_DISCORD__TIMEOUT": "2",
            "BOSS_DISCORD__BACKOFF_BASE": "0.2",
            "BOSS_DISCORD__MAX_RETRY_WAIT": "5",
            "BOSS_DISCORD__OUTBOX_LEASE": "10",
            "BOSS_TASKS__KNOWN_ASSIGNEES": "ana,bob",
            "BOSS_LOG_LEVEL": "INFO",
        }

    # faults

    def kill_redis(self) -> None:
        assert self.redis.process is not None
        self.redis.process.kill()  # SIGKILL, by PID: our own server only
        self.redis.process.wait(10)
        self.redis.process = None

    def start_redis(self) -> None:
        self.redis.start()  # empty: --save '' and a fresh start

    async def cut_database(self) -> int:
        """``pg_terminate_backend`` every connection of the run's database (not others')."""
        return int(
            await _admin(
                self.admin_dsn,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.db_name,
            )
        )

    def restart_postgres(self) -> str:
        if self.pg is None:
            reason = (
                f"PostgreSQL restart skipped: {self.pg_reason} (the machine's cluster is shared)"
            )
            self.skipped.append(reason)
            print(reason, flush=True)
            return reason
        self.pg.restart()
        return "restarted the private cluster (pg_ctl restart -m fast)"

    def kill_worker(self) -> int:
        pids = sorted(_worker_pids(self.server.pid))
        victim = pids[-1]
        os.kill(victim, signal.SIGKILL)
        return victim

    def workers_now(self) -> set[int]:
        return _worker_pids(self.server.pid)

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=60).text

    def log_text(self) -> str:
        return self.server.log_path.read_text(errors="replace")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- the load -------------------------------------------------------------------------------

Fault = Callable[["Chaos", PhaseStats], Awaitable[None]]


@dataclass
class Phase:
    """A stretch of load and the fault injected into it (run concurrently with the load)."""

    name: str
    seconds: float
    fault: Fault | None = None


class Load:
    """Bounded concurrent clients creating and reading tasks; figures go to the current phase."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.clients = clients
        self.current: PhaseStats = PhaseStats("start")
        self.created: list[str] = []
        self._stop = asyncio.Event()

    async def _client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        rng = random.Random(number)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=30, limits=limits
        ) as client:
            count = 0
            while not self._stop.is_set():
                count += 1
                body = {
                    "title": f"chaos {number}-{count}",
                    "assignee": rng.choice(["ana", "bob", "carol", None]),
                    "priority": rng.choice(["low", "medium", "high", "urgent"]),
                }
                created = await self._call(client, "POST", "/api/db/tasks", json=body)
                if created is not None and created.status_code == 201:
                    task_id = created.json()["id"]
                    self.created.append(task_id)
                    self.current.created += 1
                    read = await self._call(client, "GET", f"/api/db/tasks/{task_id}")
                    if read is not None and read.status_code == 200:
                        self.current.read += 1
                if count % 10 == 0:
                    await self._call(client, "GET", "/api/db/tasks", params={"limit": 20})

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        stats = self.current
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            stats.client_errors[f"{method} {type(exc).__name__}"] += 1
            if method == "POST":
                stats.post_errors += 1
            await asyncio.sleep(0.05)
            return None
        stats.latencies.append(time.perf_counter() - started)
        stats.statuses[response.status_code] += 1
        return response

    async def run(self, chaos: Chaos, phases: list[Phase]) -> list[PhaseStats]:
        done: list[PhaseStats] = []
        clients = [asyncio.create_task(self._client(i)) for i in range(self.clients)]
        try:
            for phase in phases:
                self.current = stats = PhaseStats(phase.name)
                print(f"chaos: phase {phase.name} ({phase.seconds:g} s)", flush=True)
                fault = (
                    asyncio.create_task(phase.fault(chaos, stats))
                    if phase.fault is not None
                    else None
                )
                started = time.monotonic()
                await asyncio.sleep(phase.seconds)
                if fault is not None:
                    await fault
                stats.notes.append(f"lasted {time.monotonic() - started:.1f} s")
                done.append(stats)
        finally:
            self._stop.set()
            await asyncio.gather(*clients, return_exceptions=True)
        return done


async def verify(chaos: Chaos, report: Report, *, settle: float = 60.0) -> None:
    """Read back every created task and its audit entry; wait for Discord to settle."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    semaphore = asyncio.Semaphore(16)
    lost = missing = 0
    async with httpx.AsyncClient(base_url=chaos.url, headers=headers, timeout=30) as client:

        async def check(task_id: str) -> None:
            nonlocal lost, missing
            async with semaphore:
                task = await client.get(f"/api/db/tasks/{task_id}")
                if task.status_code != 200:
                    lost += 1
                    return
                trail = await client.get(f"/api/db/audit/{task_id}")
                entries = trail.json().get("entries", []) if trail.status_code == 200 else []
                if not entries or entries[0]["action"] != "created":
                    missing += 1

        await asyncio.gather(*(check(task_id) for task_id in report.created_ids))
    report.lost, report.missing_audit = lost, missing
    report.rows = int(await _admin(chaos.db_dsn, "SELECT count(*) FROM tasks"))
    started = time.monotonic()
    while True:
        text = await asyncio.to_thread(chaos.metrics)
        report.tasks_created_total = _metric_sum(text, "tasks_created_total")
        report.discord = {
            status: _metric_sum(text, "discord_messages_sent_total", channel="tasks", status=status)
            for status in ("sent", "coalesced", "failed", "dropped", "unsent")
        }
        report.outbox_pending = int(await _admin(chaos.db_dsn, "SELECT count(*) FROM boss_outbox"))
        if sum(report.discord.values()) >= report.rows and report.outbox_pending == 0:
            break
        if time.monotonic() - started > settle:
            break
        await asyncio.sleep(0.5)
    report.discord_settled_after = time.monotonic() - started
    total = 0
    for body in chaos.discord.messages_for("tasks"):
        carried = 0
        for embed in body.get("embeds", []):
            match = DIGEST.match(str(embed.get("title", "")))
            carried += int(match.group(1)) if match else 1
        total += carried
        report.largest_pass = max(report.largest_pass, carried)
    report.discord_notified = total
    report.unhandled_in_log = chaos.log_text().count("unhandled ")


# -- the scripted faults --------------------------------------------------------------------


async def redis_outage(chaos: Chaos, stats: PhaseStats, *, down: float = 3.0) -> None:
    await asyncio.sleep(1.0)
    chaos.kill_redis()
    await asyncio.sleep(0.5)
    ready = await asyncio.to_thread(httpx.get, f"{chaos.url}/health/ready", timeout=10)
    stats.notes.append(f"Redis killed; /health/ready answered {ready.status_code} while down")
    await asyncio.sleep(down)
    chaos.start_redis()
    await asyncio.sleep(2.0)
    ready = await asyncio.to_thread(httpx.get, f"{chaos.url}/health/ready", timeout=10)
    stats.notes.append(f"Redis restarted empty; /health/ready answered {ready.status_code}")


async def database_cut(
    chaos: Chaos, stats: PhaseStats, *, times: int = 3, every: float = 2.0
) -> None:
    for _ in range(times):
        await asyncio.sleep(every)
        cut = await chaos.cut_database()
        stats.notes.append(f"pg_terminate_backend cut {cut} connections")


async def postgres_restart(chaos: Chaos, stats: PhaseStats) -> None:
    await asyncio.sleep(1.0)
    stats.notes.append(await asyncio.to_thread(chaos.restart_postgres))


async def discord_trouble(chaos: Chaos, stats: PhaseStats) -> None:
    chaos.discord.set_policy(discord_policy(rate_limit_every=3, server_error_every=4))
    chaos.discord.script(Reply.hanging(), Reply.hanging(), webhook="tasks")
    stats.notes.append("Discord: 5xx to every 4th call, two calls hang (timeouts), 429 to a third")
    await asyncio.sleep(4.0)
    chaos.discord.set_policy(discord_policy(rate_limit_every=3))


async def worker_kill(chaos: Chaos, stats: PhaseStats) -> None:
    await asyncio.sleep(1.0)
    victim = await asyncio.to_thread(chaos.kill_worker)

    def replaced() -> bool:
        pids = chaos.workers_now()
        return len(pids) == chaos.workers and victim not in pids

    await asyncio.to_thread(wait_for, "a replacement worker", replaced, timeout=120)
    stats.notes.append(f"SIGKILLed worker {victim}; a replacement is running")


CI_PHASES = [
    Phase("baseline", 3),
    Phase("redis-outage", 7, redis_outage),
    Phase("db-connections-cut", 6, database_cut),
    Phase("discord-5xx-timeouts", 4, discord_trouble),
    Phase("pg-restart", 4, postgres_restart),
    Phase("worker-kill", 4, worker_kill),
    Phase("recovery", 2),
]
"""The short run (about 30 s of load) for CI; Discord answers 429 to a third of calls throughout."""


async def run(
    chaos: Chaos, phases: list[Phase], *, clients: int = 16, settle: float = 60.0
) -> Report:
    """Drive the load through ``phases`` on a started ``chaos`` stack and verify the end state."""
    chaos.discord.set_policy(discord_policy(rate_limit_every=3))
    load = Load(chaos.url, clients)
    stats = await load.run(chaos, phases)
    report = Report(phases=stats, created_ids=list(load.created), skipped=chaos.skipped)
    await verify(chaos, report, settle=settle)
    # the supervisor logs each replacement (a later kill may hit an earlier replacement)
    report.workers_replaced = chaos.log_text().count("is gone; a replacement serves")
    return report


def temporary_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="boss-chaos-"))
