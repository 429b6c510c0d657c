"""Fixtures for database-layer tests: a URL per backend (SQLite file, real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on SQLite (temporary file) and on the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'boss.db'}"
    return str(request.getfixturevalue("pg_url"))
