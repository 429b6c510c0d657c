"""``/health/db`` and the database's part in ``/health/ready``."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.settings import load_settings
from tests.conftest import ADMIN

pytestmark = pytest.mark.anyio


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here once the socket is closed


async def test_health_db_ok(base_env: dict[str, str], db_url: str) -> None:
    app = create_app(load_settings({**base_env, "BOSS_DATABASE__URL": db_url}), plugins=[])
    async with AsyncTestClient(app) as client:
        response = await client.get("/health/db")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "ok"
        assert body["pool"]["checked_out"] == 0
        assert body["pool"]["size"] == 5
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert "core" in ready.json()["ok"]


async def test_health_db_down_without_credentials(base_env: dict[str, str]) -> None:
    url = f"postgresql+asyncpg://boss:hunter2-secret@127.0.0.1:{_closed_port()}/boss"
    app = create_app(load_settings({**base_env, "BOSS_DATABASE__URL": url}), plugins=[])
    async with AsyncTestClient(app) as client:
        anonymous = await client.get("/health/db")
        assert anonymous.status_code == 503
        assert "reason" not in anonymous.json()  # no host or port without an admin key
        response = await client.get("/health/db", headers=ADMIN)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "failing"
        assert body["reason"]
        assert "hunter2" not in response.text
        assert "boss:" not in response.text
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert "core" in ready.json()["failing"]
        assert "hunter2" not in ready.text
        assert (await client.get("/health")).status_code == 200  # liveness is unaffected
