"""``/health/ready`` names passing and failing checks to anyone, reasons only to admin keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.plugin import BossPlugin
from boss.settings import load_settings
from tests.conftest import ADMIN, MEMBER

pytestmark = pytest.mark.anyio


class Leaky(BossPlugin):
    """A failing check whose reason names a host and a path."""

    name = "leaky"

    async def ping(self) -> str | None:
        raise RuntimeError("redis://cache.internal:6379 unreachable; see /srv/boss/secret.log")


async def test_unauthenticated_readiness_has_no_paths_urls_or_hosts(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    """Anonymous and member callers see names only; an admin sees reasons and details."""
    app = create_app(load_settings(base_env), plugins=[Leaky()])
    data_dir = base_env["BOSS_DATA_DIR"]
    async with AsyncTestClient(app) as client:
        for headers in ({}, MEMBER):
            anonymous = await client.get("/health/ready", headers=headers)
            assert anonymous.status_code == 503
            assert anonymous.json() == {
                "ok": ["core"],
                "failing": {"leaky": "failing"},
                "details": {},
            }
            assert data_dir not in anonymous.text
            assert "cache.internal" not in anonymous.text
        admin = await client.get("/health/ready", headers=ADMIN)
        assert admin.status_code == 503
        body = admin.json()
        assert "cache.internal" in body["failing"]["leaky"]
        assert body["details"]["core"].startswith("sqlite:")  # the location, for admins only
        assert data_dir in body["details"]["core"]
