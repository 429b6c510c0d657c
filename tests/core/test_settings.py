"""Settings come from BOSS_* variables; bad values stop start-up naming the variable."""

from __future__ import annotations

import msgspec
import pytest

from boss.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_setup(tmp_path):
    settings = load_settings({"BOSS_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'boss.db'}"
    assert settings.redis.url == ""
    assert settings.metrics.enabled is True
    assert settings.metrics.path == "/metrics"
    assert settings.plugins.disabled == ()


def test_nested_sections_lists_numbers_and_booleans():
    settings = load_settings(
        {
            "BOSS_DATABASE__URL": "postgresql+asyncpg://boss@db/boss",
            "BOSS_DATABASE__POOL_SIZE": "12",
            "BOSS_METRICS__ENABLED": "false",
            "BOSS_PLUGINS__DISABLED": "discord, ai",
            "BOSS_API_KEYS": "admin:aaaaaaaaaaaaaaaaaaaa,member:bbbbbbbbbbbbbbbbbbbb",
            "UNRELATED": "x",
        }
    )
    assert settings.database.url == "postgresql+asyncpg://boss@db/boss"
    assert settings.database.pool_size == 12
    assert settings.metrics.enabled is False
    assert settings.plugins.disabled == ("discord", "ai")
    assert len(settings.api_keys) == 2


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BOSS_DATABASE__POOL_SIZE", "many", "Expected `int`"),
        ("BOSS_DATABASE__POOL_SIZE", "0", ">= 1"),
        ("BOSS_DATABASE__URL", "mysql://db/boss", "postgresql+asyncpg"),
        ("BOSS_METRICS__ENABLED", "perhaps", "Expected `bool`"),
        ("BOSS_SERVER__PORT", "70000", "<= 65535"),
        ("BOSS_LOG_LEVEL", "LOUD", "INFO"),
    ],
)
def test_invalid_value_names_the_variable(variable, value, expected):
    with pytest.raises(SettingsError) as info:
        load_settings({variable: value})
    message = str(info.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_secret_values_are_not_echoed_in_errors():
    with pytest.raises(SettingsError) as info:
        load_settings({"BOSS_METRICS__TOKEN": "x", "BOSS_METRICS__ENABLED": "x"})
    assert "BOSS_METRICS__ENABLED" in str(info.value)


def test_redacted_hides_every_secret():
    settings = load_settings(
        {
            "BOSS_DATABASE__URL": "postgresql+asyncpg://boss:hunter2@db/boss",
            "BOSS_REDIS__URL": "redis://:s3cret@cache:6379/0",
            "BOSS_METRICS__TOKEN": "metrics-token-value",
            "BOSS_API_KEYS": "admin:aaaaaaaaaaaaaaaaaaaa",
        }
    )
    shown = msgspec.json.encode(settings.redacted()).decode()
    for secret in ("hunter2", "s3cret", "metrics-token-value", "aaaaaaaaaaaaaaaaaaaa"):
        assert secret not in shown
    assert "postgresql+asyncpg://boss:***@db/boss" in shown
    assert "redis://:***@cache:6379/0" in shown


def test_plugin_section_is_read_from_its_prefix():
    class Section(msgspec.Struct):
        known_assignees: tuple[str, ...] = ()
        refresh: float = 5.0

    settings = load_settings({"BOSS_TASKS__KNOWN_ASSIGNEES": "ana,bob", "BOSS_TASKS__REFRESH": "2"})
    section = settings.section("tasks", Section)
    assert section.known_assignees == ("ana", "bob")
    assert section.refresh == 2.0
    with pytest.raises(SettingsError, match=r"^BOSS_TASKS__REFRESH: "):
        load_settings({"BOSS_TASKS__REFRESH": "soon"}).section("tasks", Section)


def test_dict_section_errors_name_the_variable_family():
    class Section(msgspec.Struct):
        webhooks: dict[str, int] = {}

    with pytest.raises(SettingsError, match=r"^BOSS_DISCORD__WEBHOOKS__\*: Expected `int`"):
        load_settings({"BOSS_DISCORD__WEBHOOKS__TASKS": "x"}).section("discord", Section)
