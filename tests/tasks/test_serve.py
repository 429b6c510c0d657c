"""``boss serve`` on the embedded SQLite: it migrates by itself and serves the task API,
also with several workers (the status gauge does not add up across them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.core.test_serve import boss_env, start_server
from tests.e2e.processes import ProcessGroup
from tests.tasks.helpers import ADMIN, sample


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path / "logs")
    yield group
    assert not group.close(), "some server processes would not stop"


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_embedded_sqlite(tmp_path: Path, processes: ProcessGroup, workers: str) -> None:
    env = boss_env(
        tmp_path,
        BOSS_TASKS__STATUS_REFRESH_SECONDS="0.2",
        BOSS_PLUGINS__DISABLED="ai,discord",
        BOSS_RATE_LIMIT__ENABLED="false",
    )
    base, _ = start_server(processes, env, "--workers", workers)
    with httpx.Client(base_url=base, headers=ADMIN, timeout=30) as client:
        assert client.get("/health/db").status_code == 200
        ids = set()
        for i in range(6):
            response = client.post("/api/db/tasks", json={"title": f"t{i}"})
            assert response.status_code == 201, response.text
            ids.add(response.json()["id"])
        assert len(ids) == 6
        assert client.get("/api/db/tasks").json()["total"] == 6
        # every worker reports the database-wide count; the exposition must not add them up
        for _ in range(200):
            value = sample(client.get("/metrics").text, "tasks_by_status", status="pending")
            if value == 6:
                break
            time.sleep(0.05)
        assert value == 6
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
