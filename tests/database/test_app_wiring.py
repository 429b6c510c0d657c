"""How the app wires the database: state, services, the ``db_session`` dependency, readiness."""

from __future__ import annotations

from typing import Any

import pytest
from boss_tasks import TasksPlugin
from litestar import get
from litestar.config.app import AppConfig
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boss import BossPlugin, PluginContext
from boss.app import create_app
from boss.database import Database
from boss.settings import load_settings
from tests.conftest import ADMIN

pytestmark = pytest.mark.anyio


class SessionUser(BossPlugin):
    """A plugin route that uses the core's ``db_session`` dependency."""

    name = "sessionuser"

    def setup(self, context: PluginContext) -> None:
        super().setup(context)
        self.database = context.services.get(Database)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        @get("/api/sessionuser/answer")
        async def answer(db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
            value = (await db_session.execute(text("SELECT 41 + 1"))).scalar_one()
            return {"answer": value}

        app_config.route_handlers.append(answer)
        return app_config


async def test_plugins_get_the_database_and_sessions(base_env: dict[str, str], db_url: str) -> None:
    plugin = SessionUser()
    app = create_app(load_settings({**base_env, "BOSS_DATABASE__URL": db_url}), plugins=[plugin])
    assert isinstance(plugin.database, Database)
    async with AsyncTestClient(app) as client:
        response = await client.get("/api/sessionuser/answer", headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"answer": 42}


async def test_tasks_not_ready_before_migrations(base_env: dict[str, str], tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    app = create_app(
        load_settings({**base_env, "BOSS_DATABASE__URL": url}), plugins=[TasksPlugin()]
    )
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready", headers=ADMIN)
        assert ready.status_code == 503
        body = ready.json()
        assert "core" in body["ok"]
        assert "boss db upgrade" in body["failing"]["tasks"]
