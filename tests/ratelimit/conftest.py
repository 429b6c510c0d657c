"""Fixtures of the rate-limit tests: a private, restartable Redis server."""

from __future__ import annotations

from tests.cache.redis_server import redis_server

__all__ = ("redis_server",)
