"""Alembic versions of the tasks plugin (its own branch, labelled ``tasks``)."""
