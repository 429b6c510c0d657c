"""``boss serve``: run the service with uvicorn, one or several workers.

With several workers prometheus-client runs in multiprocess mode: ``serve`` creates a fresh
metrics directory before the workers start and removes it when they stop, so one
``/metrics`` on the one port adds up every worker and no stale file survives a restart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable

import click

from boss.auth import ensure_generated_key, load_keyring
from boss.cli._errors import fail, friendly_errors, settings_or_exit
from boss.cli.db import migrate_embedded
from boss.loader import load_plugins
from boss.metrics_endpoint import MULTIPROC_ENV
from boss.settings import Settings

__all__ = ("PREPARE_HOOKS", "serve")

WORKER_HEALTHCHECK_TIMEOUT = 30
"""Seconds uvicorn's supervisor waits for a worker's health answer before replacing it."""

PREPARE_HOOKS: list[Callable[[Settings], None]] = []
"""Work to do before the server starts (e.g. migrating the embedded database)."""
PREPARE_HOOKS.append(migrate_embedded)


@click.command()
@click.option(
    "--host", default=None, help="Address to bind (default BOSS_SERVER__HOST or 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default BOSS_SERVER__PORT or 8000).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes.")
@click.option("--log-level", default=None, help="Log level (default BOSS_LOG_LEVEL).")
def serve(host: str | None, port: int | None, workers: int | None, log_level: str | None) -> None:
    """Serve the API, /metrics and /health."""
    import uvicorn

    settings = settings_or_exit()
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    workers = workers or settings.server.workers
    with friendly_errors():
        load_plugins(settings)  # fail fast, with one line, before any worker starts
        new_key = ensure_generated_key(settings)
        keyring = load_keyring(settings)
        for hook in PREPARE_HOOKS:
            hook(settings)
    if new_key is not None:
        click.echo(
            f"boss: generated an admin API key (stored in {settings.data_path}/api-keys; shown once):\n"
            f"  {new_key}\n"
            f"Use it as 'Authorization: Bearer <key>'.",
            err=True,
        )
    elif not len(keyring):
        fail("no API key is configured (BOSS_API_KEYS, BOSS_API_KEYS_FILE)")
    level = (log_level or settings.log_level).lower()
    if workers == 1:
        from boss.app import create_app

        with friendly_errors():
            app = create_app(settings)
        uvicorn.run(app, host=host, port=port, log_level=level, access_log=False, lifespan="on")
        return
    metrics_dir = tempfile.mkdtemp(prefix="boss-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    click.echo(f"boss: {workers} workers, multiprocess metrics in {metrics_dir}", err=True)
    try:
        from boss.supervisor import run_workers

        config = uvicorn.Config(
            "boss.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            access_log=False,
            lifespan="on",
            # A worker still importing on a loaded machine misses uvicorn's default 5 s
            # health check and is killed and restarted in a loop; give start-up room.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
        )
        # uvicorn's supervisor, plus dropping a dead worker's live gauges (boss.supervisor).
        run_workers(config, metrics_dir=metrics_dir)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
