"""Real failures provoked from outside, so that the error series and panels have data.

Nothing in boss is patched: the database loses a table for a moment (a botched migration)
and the fake Discord answers 500, as production sees on a bad day.
"""

from __future__ import annotations

from tests.conftest import ADMIN
from tests.fakes.discord_server import DiscordServer, Reply

from .drivers import TASKS, Drive, installed_plugins
from .pg import execute_in

__all__ = ("TASKS_TABLE", "discord_outage", "missing_table")

TASKS_TABLE = "tasks"
"""The tasks plugin's table, renamed away for a moment to make writes fail."""


def missing_table(drive: Drive, database: str) -> None:
    """The tasks table vanishes for a moment (a botched migration): creating answers 500.

    The failing request is an AI task creation when the AI plugin is installed, so that it
    also counts as a failed AI request; either way it is an unhandled database error,
    counted in ``errors_total``. The table is renamed back before anything else runs.
    """
    t = drive.traffic
    execute_in(database, f"ALTER TABLE {TASKS_TABLE} RENAME TO {TASKS_TABLE}_e2e_away")
    try:
        if "ai" in installed_plugins():
            t.request(
                "POST",
                "/api/ai/tasks",
                json={"text": "Carla: renew the certificate tomorrow"},
                headers=ADMIN,
                expect=500,
            )
        else:
            t.request("POST", TASKS, json={"title": "Lost"}, headers=ADMIN, expect=500)
    finally:
        execute_in(database, f"ALTER TABLE {TASKS_TABLE}_e2e_away RENAME TO {TASKS_TABLE}")


def discord_outage(drive: Drive, discord: DiscordServer, channel: str) -> None:
    """Discord answers 500 to the admin test alert: boss reports 502 and counts the failure."""
    discord.script(Reply.server_error(), webhook=channel)
    drive.traffic.request("POST", "/api/admin/test-alert", headers=ADMIN, expect=502)
