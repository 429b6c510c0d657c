"""Real failures provoked from outside, so that the error series and panels have data.

Nothing in boss is patched: the database drops boss's connections (as in a failover) and
the fake Discord answers 500, exactly what production sees on a bad day.
"""

from __future__ import annotations

from tests.conftest import ADMIN
from tests.fakes.discord_server import DiscordServer, Reply

from .drivers import TASKS, Drive, installed_plugins
from .pg import terminate_connections

__all__ = ("ATTEMPTS", "database_failover", "discord_outage")

ATTEMPTS = 10
"""Connection cuts tried before giving up on seeing a 500 (one usually suffices)."""


def database_failover(drive: Drive, database: str) -> int:
    """Cut boss's database connections until a request answers 500; returns the 500s seen.

    Pooled connections are not pre-pinged, so the first request that checks out a cut
    connection fails (an unhandled error: ``errors_total`` and a 5xx); the pool then
    reconnects. With the AI plugin installed the failing request is an AI task creation,
    which also counts an AI request failure.
    """
    use_ai = "ai" in installed_plugins()
    t = drive.traffic
    for _ in range(ATTEMPTS):
        terminate_connections(database)
        if use_ai:
            response = t.request(
                "POST",
                "/api/ai/tasks",
                json={"text": "Carla: renew the certificate tomorrow"},
                headers=ADMIN,
                expect=(201, 500),
            )
        else:
            response = t.request("GET", TASKS, headers=ADMIN, expect=(200, 500))
        if response.status_code == 500:
            return 1
    raise AssertionError(
        f"{ATTEMPTS} cuts of the database connections never made a request fail with 500"
    )


def discord_outage(drive: Drive, discord: DiscordServer, channel: str) -> None:
    """Discord answers 500 to the admin test alert: boss reports 502 and counts the failure."""
    discord.script(Reply.server_error(), webhook=channel)
    drive.traffic.request("POST", "/api/admin/test-alert", headers=ADMIN, expect=502)
