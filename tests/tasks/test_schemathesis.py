"""Schemathesis against a real ``boss serve`` (every installed plugin, SQLite and PostgreSQL):
no 5xx and no conformance failure on any operation of the served OpenAPI document.

Bounded (``--max-examples 30`` per operation, fixed seed) so a run takes well under a
minute. Schemathesis may still print heuristic warnings (for instance "mostly rejected
generated data" on operations whose documented header patterns it fuzzes on purpose);
those are not failures, and the run's exit code and failure list are what is asserted.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY
from tests.core.test_serve import BIN, boss_env, run_boss, start_server
from tests.e2e.processes import ProcessGroup

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
)
EXAMPLES_PER_OPERATION = "30"
SEED = "7"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path / "logs")
    yield group
    assert not group.close(), "some server processes would not stop"


def _database_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if backend == "sqlite":
        return {}  # boss serve creates and migrates the embedded database itself
    return {"BOSS_DATABASE__URL": str(request.getfixturevalue("pg_url"))}


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    tmp_path: Path, processes: ProcessGroup, backend: str, request: pytest.FixtureRequest
) -> None:
    env = boss_env(
        tmp_path,
        BOSS_RATE_LIMIT__ENABLED="false",
        **_database_env(backend, tmp_path, request),
    )
    if backend == "postgresql":
        assert run_boss("db", "downgrade", "base", env=env).returncode == 0
        upgraded = run_boss("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
    base, _ = start_server(processes, env)
    try:
        result = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                f"{base}/schema/openapi.json",
                "-H",
                f"Authorization: Bearer {ADMIN_KEY}",
                "--checks",
                CHECKS,
                "--max-examples",
                EXAMPLES_PER_OPERATION,
                "--seed",
                SEED,
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            check=False,
        )
    finally:
        if backend == "postgresql":
            processes.close()
            run_boss("db", "downgrade", "base", env=env)
    report = result.stdout[-8000:] + result.stderr[-2000:]
    assert result.returncode == 0, report  # schemathesis exits non-zero on any failure
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected, report
    assert tested, report
    assert int(tested.group(1)) == int(selected.group(2)) >= 10, report  # every operation
    assert "Failures:" not in result.stdout, report
