"""Alembic versions of the Discord plugin: the transactional outbox it drains."""
