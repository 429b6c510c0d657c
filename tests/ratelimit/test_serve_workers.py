"""Two ``boss serve`` workers sharing one real Redis enforce one limit, not two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.core.test_serve import boss_env, start_server
from tests.e2e.processes import ProcessGroup

pytestmark = pytest.mark.anyio


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path / "logs")
    yield group
    assert not group.close(), "some server processes would not stop"


async def test_two_workers_allow_exactly_the_limit(
    tmp_path: Path, processes: ProcessGroup, redis_url: str
) -> None:
    env = boss_env(
        tmp_path,
        BOSS_REDIS__URL=redis_url,
        BOSS_RATE_LIMIT__REQUESTS="10",
        BOSS_RATE_LIMIT__WINDOW="600",
        BOSS_PLUGINS__DISABLED="tasks,discord,ai",
    )
    base, _ = start_server(processes, env, "--workers", "2")
    statuses: list[int] = []

    async def one(client: httpx.AsyncClient) -> None:
        response = await client.get(f"{base}/schema/openapi.json")
        statuses.append(response.status_code)

    # no keep-alive: every request is a new connection, spread over both workers
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async with anyio.create_task_group() as group:
            for _ in range(40):
                group.start_soon(one, client)
        metrics = (await client.get(f"{base}/metrics")).text
    assert sorted(statuses) == [200] * 10 + [429] * 30
    assert 'rate_limit_violations_total{endpoint="/schema/openapi.json"} 30.0' in metrics
