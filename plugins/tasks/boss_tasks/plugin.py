"""``TasksPlugin``: the task workflow API, its tables, metrics, alerts and panels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from litestar import Litestar
from litestar.config.app import AppConfig
from sqlalchemy import select

from boss import AlertRule, BossPlugin, Cache, MetricSpec, Panel, PluginContext, RuleTest
from boss.database import Database
from boss_tasks.fragments import TASK_ALERTS, TASK_METRICS, TASK_PANELS, TASK_RULE_TESTS
from boss_tasks.idempotency import IdempotencyStore
from boss_tasks.listing import SORTS
from boss_tasks.metrics import OTHER, UNASSIGNED, TaskMetrics
from boss_tasks.routes import build_router
from boss_tasks.service import Emit, TaskService
from boss_tasks.settings import TasksSettings
from boss_tasks.tables import tasks
from boss_tasks.workflow import PRIORITIES, STATUSES

__all__ = ("TasksPlugin",)

logger = logging.getLogger("boss.tasks")
STOP_TIMEOUT = 10.0
"""Seconds the status refresher may take to finish its query at shutdown."""
PURGE_INTERVAL = 3600.0
"""Seconds between deletions of expired ``Idempotency-Key`` rows."""


def _emitter(app: Litestar) -> Emit:
    """``app.emit`` that stays silent for events nobody listens to (Litestar would raise)."""

    def emit(event_id: str, **kwargs: Any) -> None:
        if app.event_emitter.listeners.get(event_id):
            app.emit(event_id, **kwargs)

    return emit


class TasksPlugin(BossPlugin):
    """Tasks with assignees, priorities, deadlines, a status workflow and an audit trail."""

    name = "tasks"
    title = "Tasks"
    metrics: ClassVar[tuple[MetricSpec, ...]] = TASK_METRICS
    alerts: ClassVar[tuple[AlertRule, ...]] = TASK_ALERTS
    rule_tests: ClassVar[tuple[RuleTest, ...]] = TASK_RULE_TESTS
    panels: ClassVar[tuple[Panel, ...]] = TASK_PANELS
    settings_type: ClassVar[type[Any] | None] = TasksSettings
    migrations: ClassVar[str | None] = "boss_tasks.migrations"
    openapi_enums: ClassVar[dict[str, tuple[str, ...]]] = {
        "TaskStatus": STATUSES,
        "TaskPriority": PRIORITIES,
        "TaskSort": SORTS,
    }

    def __init__(self) -> None:
        self._service: TaskService | None = None
        self._database: Database | None = None
        self._idempotency: IdempotencyStore | None = None

    def setup(self, context: PluginContext) -> None:
        """Keep the settings section and build the metric helper from our handles."""
        super().setup(context)
        self.settings: TasksSettings = context.config or TasksSettings()
        self.task_metrics = TaskMetrics(
            created=context.metrics.counter("tasks_created_total"),
            completed=context.metrics.counter("tasks_completed_total"),
            by_status=context.metrics.gauge("tasks_by_status"),
            known_assignees=self.settings.known_assignees,
        )
        assignees = (*self.settings.known_assignees, OTHER, UNASSIGNED)
        for metric in ("tasks_created_total", "tasks_completed_total"):
            context.metrics.declare_label_values(metric, "assignee", assignees)

    @property
    def service(self) -> TaskService:
        """The running ``TaskService`` (for other plugins); only once the app has started."""
        if self._service is None:
            raise RuntimeError(
                "the tasks service is available only while the app runs (after startup)"
            )
        return self._service

    @property
    def idempotency(self) -> IdempotencyStore | None:
        """The ``Idempotency-Key`` store (for other plugins' create routes); ``None`` until started."""
        return self._idempotency

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the ``/api/db`` routes and the lifespan that runs the service."""
        app_config.route_handlers.append(
            build_router(lambda: self.service, lambda: self.idempotency)
        )
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        database = self.context.services.get(Database) or app.state["database"]
        self._database = database
        self._service = TaskService(
            database,
            metrics=self.task_metrics,
            cache=self.context.services.get(Cache),  # type: ignore[type-abstract]
            emit=_emitter(app),
        )
        self._idempotency = IdempotencyStore(database)
        stop = asyncio.Event()
        refresher = asyncio.create_task(self._refresh(self._service, stop))
        try:
            yield
        finally:
            # Let a running query finish: cancelling asyncpg mid-query can hang the pool.
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(refresher), STOP_TIMEOUT)
            except TimeoutError:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            self._service = None
            self._idempotency = None

    async def _refresh(self, service: TaskService, stop: asyncio.Event) -> None:
        """Keep ``tasks_by_status`` current: re-read the counts every interval until ``stop``.

        Once per ``PURGE_INTERVAL`` it also deletes expired ``Idempotency-Key`` rows.
        """
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + PURGE_INTERVAL
        while not stop.is_set():
            try:
                await service.refresh_status_metrics()
            except Exception as exc:
                logger.warning("could not refresh tasks_by_status: %s", exc)
            if self._idempotency is not None and loop.time() >= next_purge:
                next_purge = loop.time() + PURGE_INTERVAL
                try:
                    await self._idempotency.purge()
                except Exception as exc:
                    logger.warning("could not purge expired idempotency keys: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.status_refresh_seconds)

    async def ping(self) -> str | None:
        """Ready when the tasks table exists (``boss db upgrade`` has run)."""
        if self._database is None:
            return "not started"
        try:
            async with self._database.connect() as conn:
                await conn.execute(select(tasks.c.number).limit(1))
        except Exception as exc:
            raise RuntimeError(
                f"tasks table unreadable ({type(exc).__name__}); run 'boss db upgrade'"
            ) from None
        return None
