"""Auth, problem details, /metrics protection and negotiation, health aggregation."""

from __future__ import annotations

import anyio
import pytest
from litestar.testing import AsyncTestClient

from boss import BossPlugin
from boss.app import create_app
from boss.auth import KeyRing, ensure_generated_key, load_keyring, parse_key_entry
from boss.settings import SettingsError, load_settings
from tests.conftest import ADMIN, ADMIN_KEY, MEMBER
from tests.core.helpers import DemoPlugin

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(base_env):
    return create_app(load_settings(base_env), plugins=[DemoPlugin])


async def test_api_needs_a_key(app):
    async with AsyncTestClient(app) as client:
        missing = await client.get("/api/db/tasks/TASK-1")
        wrong = await client.get(
            "/api/db/tasks/TASK-1", headers={"Authorization": "Bearer nope-nope-nope-nope"}
        )
        basic = await client.get(
            "/api/db/tasks/TASK-1", headers={"Authorization": f"Basic {ADMIN_KEY}"}
        )
        ok = await client.get("/api/db/tasks/TASK-1", headers=MEMBER)
        open_route = await client.get("/open/ping")
    assert missing.status_code == 401
    assert missing.json()["detail"].startswith("Missing API key")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Invalid API key"
    assert basic.status_code == 401
    assert ok.status_code == 200
    assert open_route.status_code == 200


async def test_member_may_not_use_admin_routes(app):
    async with AsyncTestClient(app) as client:
        member = await client.post("/api/admin/thing", headers=MEMBER)
        admin = await client.post("/api/admin/thing", headers=ADMIN)
    assert member.status_code == 403
    assert member.headers["content-type"].startswith("application/problem+json")
    assert admin.status_code == 201


async def test_validation_errors_name_the_field(app):
    async with AsyncTestClient(app) as client:
        wrong_type = await client.post("/api/items", json={"title": 5}, headers=ADMIN)
        unknown = await client.post(
            "/api/items", json={"title": "x", "colour": "red"}, headers=ADMIN
        )
        missing = await client.post("/api/items", json={"count": 1}, headers=ADMIN)
        broken = await client.post(
            "/api/items",
            content=b"{not json",
            headers={**ADMIN, "content-type": "application/json"},
        )
    assert wrong_type.status_code == 400
    body = wrong_type.json()
    assert body["status"] == 400
    assert body["title"] == "Validation failed"
    assert body["type"] == "/problems/validation"
    assert "title" in body["detail"]
    assert any(error["field"] == "title" for error in body["errors"])
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "colour"
    assert broken.status_code == 400
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "title"
    assert "title" in missing.json()["detail"]
    assert broken.headers["content-type"].startswith("application/problem+json")


async def test_metrics_token_and_openmetrics(base_env):
    env = {**base_env, "BOSS_METRICS__TOKEN": "scrape-secret-123"}
    app = create_app(load_settings(env), plugins=[DemoPlugin])
    async with AsyncTestClient(app) as client:
        denied = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer other"})
        text = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
        openmetrics = await client.get(
            "/metrics",
            headers={
                "Authorization": "Bearer scrape-secret-123",
                "Accept": "application/openmetrics-text; version=1.0.0",
            },
        )
    assert denied.status_code == 401
    assert wrong.status_code == 401
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "http_requests_total" in text.text
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


class GoodPing(BossPlugin):
    name = "good"

    async def ping(self) -> str | None:
        return "fine, thanks"


class BadPing(BossPlugin):
    name = "bad"

    async def ping(self) -> str | None:
        raise ConnectionError("cannot reach the thing")


class SlowPing(BossPlugin):
    name = "slow"

    async def ping(self) -> str | None:
        await anyio.sleep(60)
        return None


async def test_readiness_aggregates_pings(base_env, monkeypatch):
    monkeypatch.setattr("boss.health.PING_TIMEOUT", 0.2)
    app = create_app(load_settings(base_env), plugins=[GoodPing, BadPing, DemoPlugin])
    async with AsyncTestClient(app) as client:
        live = await client.get("/health")
        anonymous = await client.get("/health/ready")
        ready = await client.get("/health/ready", headers=ADMIN)
    assert live.status_code == 200
    assert anonymous.status_code == 503
    assert anonymous.json()["failing"] == {"bad": "failing"}  # reasons need an admin key
    assert ready.status_code == 503
    body = ready.json()
    assert "good" in body["ok"]
    assert body["failing"] == {"bad": "cannot reach the thing"}
    assert body["details"]["good"] == "fine, thanks"


async def test_readiness_times_out_slow_pings(base_env):
    from boss.health import check_readiness

    result = await check_readiness([SlowPing(), GoodPing()], limit=0.1)
    assert result.ok == ["good"]
    assert result.failing == {"slow": "no answer within 0.1 s"}


async def test_ready_is_200_when_all_pings_answer(base_env):
    app = create_app(load_settings(base_env), plugins=[GoodPing])
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert "good" in ready.json()["ok"]


def test_key_entries_are_validated():
    identity, key = parse_key_entry("ana:admin:0123456789abcdef", origin="X")
    assert (identity.name, identity.role, key) == ("ana", "admin", "0123456789abcdef")
    identity, _ = parse_key_entry("member:0123456789abcdef", origin="X")
    other, _ = parse_key_entry("member:fedcba9876543210", origin="X")
    assert identity.role == other.role == "member"
    assert identity.name.startswith("member-")
    assert identity.name != other.name
    assert "0123456789abcdef" not in identity.name
    with pytest.raises(SettingsError, match="unknown role 'root'"):
        parse_key_entry("root:0123456789abcdef", origin="BOSS_API_KEYS (entry 1)")
    with pytest.raises(SettingsError, match="shorter than 16"):
        parse_key_entry("admin:short", origin="X")
    with pytest.raises(SettingsError, match="expected 'role:key'"):
        parse_key_entry("justakey", origin="X")


def test_keys_file_errors_name_file_and_line(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nana:admin:0123456789abcdef\nbob:boss:0123456789abcdef\n")
    with pytest.raises(SettingsError, match=rf"{keys}:3: unknown role 'boss'"):
        load_keyring(
            load_settings({"BOSS_API_KEYS_FILE": str(keys), "BOSS_DATA_DIR": str(tmp_path)})
        )
    with pytest.raises(SettingsError, match="BOSS_API_KEYS_FILE: cannot read"):
        load_keyring(load_settings({"BOSS_API_KEYS_FILE": str(tmp_path / "none")}))


def test_generated_key_is_created_once_and_used(tmp_path):
    settings = load_settings({"BOSS_DATA_DIR": str(tmp_path)})
    key = ensure_generated_key(settings)
    assert key is not None
    assert ensure_generated_key(settings) is None
    assert (tmp_path / "api-keys").stat().st_mode & 0o777 == 0o600
    ring = load_keyring(settings)
    identity = ring.identify(key)
    assert identity is not None
    assert identity.role == "admin"
    assert ring.identify(key + "x") is None
    configured = load_settings(
        {"BOSS_DATA_DIR": str(tmp_path / "other"), "BOSS_API_KEYS": "admin:0123456789abcdef"}
    )
    assert ensure_generated_key(configured) is None


def test_keyring_checks_every_key():
    ring = KeyRing(
        [
            parse_key_entry("a:admin:0123456789abcdef", origin="x"),
            parse_key_entry("b:member:fedcba9876543210", origin="x"),
        ]
    )
    found = ring.identify("fedcba9876543210")
    assert found is not None
    assert found.name == "b"
