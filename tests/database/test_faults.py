"""Connection faults: recognised, invalidated, retried once when safe, otherwise 503, never 500.

Runs against the machine's real PostgreSQL: connections are cut with
``pg_terminate_backend`` on this session's own database only.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest
from boss_ai import AIPlugin
from boss_tasks import TasksPlugin
from litestar import post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from boss import BossPlugin
from boss.app import create_app
from boss.database import Database, retry
from boss.database.faults import fault_kind, never_sent
from boss.database.retry import DATABASE_UNAVAILABLE
from boss.settings import load_settings
from tests.conftest import ADMIN, PG_ADMIN_DSN

pytestmark = pytest.mark.anyio


async def _terminate_all(url: str) -> int:
    """``pg_terminate_backend`` every other connection of ``url``'s database; how many."""
    name = make_url(url).database
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


# -- classification --------------------------------------------------------------------


def test_faults_are_classified_and_statement_errors_are_not() -> None:
    """Dead-connection errors are disconnects; a constraint violation or a bug is not a fault."""
    broken = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert fault_kind(broken) == "disconnect"
    assert never_sent(broken)
    assert fault_kind(asyncpg.AdminShutdownError("terminating connection")) == "disconnect"
    assert fault_kind(asyncpg.CannotConnectNowError("starting up")) == "disconnect"
    assert fault_kind(asyncpg.ConnectionDoesNotExistError("closed")) == "disconnect"
    assert fault_kind(ConnectionRefusedError(111, "refused")) == "disconnect"
    wrapped = sa_exc.InternalError("SELECT 1", {}, broken)
    assert fault_kind(wrapped) == "disconnect"
    assert fault_kind(sa_exc.TimeoutError("QueuePool limit reached")) == "unavailable"
    assert fault_kind(asyncpg.UniqueViolationError("duplicate key")) is None
    assert fault_kind(ValueError("a bug")) is None
    assert not never_sent(asyncpg.AdminShutdownError("terminating connection"))


async def test_fatal_on_an_idle_connection_is_a_disconnect_and_is_invalidated(
    pg_url: str,
) -> None:
    """The "cannot switch to state N; another operation (2)" error, reproduced and handled.

    The server's FATAL reaches a connection that is idle in a transaction; asyncpg parks
    the protocol in ERROR_CONSUME until it reads the EOF. A statement issued in between
    used to fail with ``InternalClientError`` that SQLAlchemy did not treat as a
    disconnect, so the broken connection went back to the pool.
    """
    database = Database(pg_url, pool_size=1, max_overflow=0)
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    seen: list[str] = []
    try:
        # How many loop turns separate reading the FATAL from reading the EOF depends on
        # the stack; try each and require the race to be hit at least once.
        for turns in range(6):
            async with database.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                # returns as soon as the signal is sent: the FATAL is still on its way
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                time.sleep(0.3)  # noqa: ASYNC251 - blocking on purpose: FATAL and EOF queue up
                for _ in range(turns):
                    await asyncio.sleep(0)
                with pytest.raises(sa_exc.DBAPIError) as caught:
                    await conn.execute(text("SELECT 2"))
            seen.append(str(caught.value.orig))
            assert fault_kind(caught.value) == "disconnect"
            assert caught.value.connection_invalidated, "a dead connection must be invalidated"
            async with database.connect() as conn:  # the pool hands out a fresh connection
                assert (await conn.execute(text("SELECT 3"))).scalar_one() == 3
        assert any("another operation (2) is in progress" in text_ for text_ in seen), seen
    finally:
        await admin.close()
        await database.dispose()


async def test_transaction_outcome_is_looked_up_after_the_fact(pg_url: str) -> None:
    """``transaction_outcome`` tells committed from aborted (used when COMMIT loses its socket)."""
    database = Database(pg_url)
    try:
        async with database.engine.connect() as conn:
            await conn.begin()
            committed = int((await conn.execute(text("SELECT txid_current()"))).scalar_one())
            await conn.commit()
            await conn.begin()
            aborted = int((await conn.execute(text("SELECT txid_current()"))).scalar_one())
            await conn.rollback()
        assert await database.transaction_outcome(committed) == "committed"
        assert await database.transaction_outcome(aborted) == "aborted"
    finally:
        await database.dispose()


# -- the HTTP answers ------------------------------------------------------------------


def _app(env: dict[str, str], registry: CollectorRegistry) -> Any:
    return create_app(load_settings(env), plugins=[TasksPlugin()], registry=registry)


async def test_requests_after_all_connections_are_cut_are_retried_not_failed(
    base_env: dict[str, str], pg_tasks: str
) -> None:
    """Reads and uncommitted writes on connections the server killed succeed on a fresh one."""
    registry = CollectorRegistry()
    env = {**base_env, "BOSS_DATABASE__URL": pg_tasks, "BOSS_RATE_LIMIT__ENABLED": "false"}
    async with AsyncTestClient(_app(env, registry)) as client:
        created = await client.post("/api/db/tasks", json={"title": "before"}, headers=ADMIN)
        assert created.status_code == 201
        task_id = created.json()["id"]
        for round_ in range(3):
            assert await _terminate_all(pg_tasks) >= 1
            time.sleep(0.2)  # noqa: ASYNC251 - let the FATAL reach the pooled connections first
            read = await client.get(f"/api/db/tasks/{task_id}", headers=ADMIN)
            assert read.status_code == 200, read.text
            await _terminate_all(pg_tasks)
            time.sleep(0.2)  # noqa: ASYNC251 - the loop must not read the EOF yet
            write = await client.post(
                "/api/db/tasks", json={"title": f"after {round_}"}, headers=ADMIN
            )
            assert write.status_code == 201, write.text
            trail = await client.get(f"/api/db/audit/{write.json()['id']}", headers=ADMIN)
            assert [e["action"] for e in trail.json()["entries"]] == ["created"]
        listing = await client.get("/api/db/tasks", params={"limit": 100}, headers=ADMIN)
        assert listing.json()["total"] == 4  # nothing written twice, nothing lost
    assert _sample(registry, "errors_total", type="DatabaseUnavailable", severity="error") == 0


class CutPlugin(BossPlugin):
    """A route whose first run loses its connection mid-transaction (after ``commit_first``)."""

    name = "cut"

    def __init__(self, url: str) -> None:
        self.url = url
        self.runs = 0

    def on_app_init(self, app_config: Any) -> Any:
        plugin = self

        @post("/cut/{commit_first:int}", status_code=200)
        async def cut(commit_first: FromPath[int], state: State) -> dict[str, int]:
            database: Database = state["database"]
            plugin.runs += 1
            if commit_first:
                async with database.begin() as conn:
                    await conn.execute(text("INSERT INTO cut_rows (run) VALUES (:r)"), {"r": 0})
            async with database.begin() as conn:
                await conn.execute(text("SELECT 1"))
                if plugin.runs == 1:
                    await _terminate_all(plugin.url)
                    time.sleep(0.2)  # noqa: ASYNC251 - the loop must not read the EOF yet
                await conn.execute(
                    text("INSERT INTO cut_rows (run) VALUES (:r)"), {"r": plugin.runs}
                )
            return {"runs": plugin.runs}

        app_config.route_handlers.append(cut)
        return app_config


@pytest.mark.parametrize("commit_first", [0, 1])
async def test_a_write_that_loses_its_connection_is_retried_only_if_nothing_committed(
    base_env: dict[str, str], pg_url: str, commit_first: int
) -> None:
    """Uncommitted: repeated once on a fresh connection (201 path). Committed before: 503."""
    database = Database(pg_url)
    async with database.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS cut_rows"))
        await conn.execute(text("CREATE TABLE cut_rows (id serial PRIMARY KEY, run int)"))
    registry = CollectorRegistry()
    plugin = CutPlugin(pg_url)
    env = {**base_env, "BOSS_DATABASE__URL": pg_url, "BOSS_RATE_LIMIT__ENABLED": "false"}
    app = create_app(load_settings(env), plugins=[plugin], registry=registry)
    try:
        async with AsyncTestClient(app) as client:
            answer = await client.post(f"/cut/{commit_first}", headers=ADMIN)
        async with database.connect() as conn:
            runs = [
                r for (r,) in (await conn.execute(text("SELECT run FROM cut_rows ORDER BY id")))
            ]
    finally:
        async with database.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS cut_rows"))
        await database.dispose()
    if commit_first:
        assert answer.status_code == 503, answer.text
        assert answer.json()["type"] == DATABASE_UNAVAILABLE == "/problems/database-unavailable"
        assert runs == [0]  # the committed part stays, the cut transaction left nothing
        assert (
            _sample(registry, "db_connection_faults_total", kind="disconnect", action="rejected")
            == 1
        )
    else:
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"runs": 2}
        assert runs == [2]  # the first run's insert died with its connection
        assert (
            _sample(registry, "db_connection_faults_total", kind="disconnect", action="retried")
            == 1
        )
    assert plugin.runs == 2 - commit_first


async def test_an_unreachable_database_answers_503_problem_with_retry_after(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    """No server on the port: 503 problem+json with a type and Retry-After, counted, no 500."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    registry = CollectorRegistry()
    env = {
        **base_env,
        "BOSS_DATABASE__URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere",
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_DATABASE__POOL_TIMEOUT": "2",
    }
    async with AsyncTestClient(_app(env, registry)) as client:
        for method, path, body in (
            ("GET", "/api/db/tasks", None),
            ("POST", "/api/db/tasks", {"title": "x"}),
        ):
            answer = await client.request(method, path, json=body, headers=ADMIN)
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"] == "1"
            problem = answer.json()
            assert problem["type"] == "/problems/database-unavailable"
            assert problem["title"] == "Database unavailable"
            assert problem["status"] == 503
            assert str(port) not in answer.text  # no host or port in the answer
    assert _sample(registry, "errors_total", type="DatabaseUnavailable", severity="error") >= 2
    assert (
        _sample(
            registry, "http_requests_total", method="GET", endpoint="/api/db/tasks", status="500"
        )
        == 0
    )


def _unreachable_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere"


DATABASE_OPERATIONS: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("/api/db/tasks", "get"): ("/api/db/tasks", None),
    ("/api/db/tasks", "post"): ("/api/db/tasks", {"title": "x"}),
    ("/api/db/tasks/{task_id}", "get"): ("/api/db/tasks/TASK-1", None),
    ("/api/db/tasks/{task_id}", "patch"): ("/api/db/tasks/TASK-1", {"title": "y", "version": 1}),
    ("/api/db/tasks/{task_id}", "delete"): ("/api/db/tasks/TASK-1", None),
    ("/api/db/tasks/{task_id}/status", "post"): (
        "/api/db/tasks/TASK-1/status",
        {"status": "in_progress"},
    ),
    ("/api/db/audit/{task_id}", "get"): ("/api/db/audit/TASK-1", None),
    ("/api/ai/tasks", "post"): ("/api/ai/tasks", {"text": "Ana: fix the login bug"}),
}
"""Every operation that reads or writes the database, with a request that reaches it."""


async def test_every_database_operation_answers_the_503_its_schema_documents(
    base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Database down: each operation's answer is a status, content type, header and body that
    the served OpenAPI document declares for it (schemathesis's conformance checks hold)."""
    monkeypatch.setattr(retry, "READY_WAIT", 0.2)  # each request still retries once, briefly
    env = {
        **base_env,
        "BOSS_DATABASE__URL": _unreachable_url(),
        "BOSS_RATE_LIMIT__ENABLED": "false",
        "BOSS_DATABASE__POOL_TIMEOUT": "2",
    }
    registry = CollectorRegistry()
    app = create_app(load_settings(env), plugins=[TasksPlugin(), AIPlugin()], registry=registry)
    answers: dict[tuple[str, str], Any] = {}
    async with AsyncTestClient(app) as client:
        schema = (await client.get("/schema/openapi.json")).json()

        async def call(operation: tuple[str, str], url: str, body: dict[str, Any] | None) -> None:
            headers = {**ADMIN, "Idempotency-Key": "k-1"} if operation[1] == "post" else ADMIN
            answers[operation] = await client.request(
                operation[1].upper(), url, json=body, headers=headers
            )

        for operation, (url, body) in DATABASE_OPERATIONS.items():
            await call(operation, url, body)
    database_paths = {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/db/")
    }
    assert database_paths <= set(DATABASE_OPERATIONS)  # a new task route joins this test
    problem = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Problem", "components": schema["components"]}
    )
    for (path, method), answer in answers.items():
        documented = schema["paths"][path][method]["responses"]["503"]
        assert answer.status_code == 503, (path, method, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert list(documented["content"]) == ["application/problem+json"], (path, method)
        assert answer.headers["retry-after"] == "1"
        assert documented["headers"]["Retry-After"]["schema"]["type"] == "integer"
        assert "/problems/database-unavailable" in documented["description"], (path, method)
        problem.validate(answer.json())
        assert answer.json()["type"] == "/problems/database-unavailable", (path, method)
    retried = _sample(registry, "db_connection_faults_total", kind="disconnect", action="retried")
    assert retried == len(DATABASE_OPERATIONS)  # each was retried once before its 503
