"""``create_app``: load plugins, build one metric registry, assemble the Litestar app."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from prometheus_client import CollectorRegistry, disable_created_metrics

from boss.auth import load_keyring, middleware_for, whoami
from boss.database import Database
from boss.database.health import database_health
from boss.database.retry import DatabaseFaultHandler, DatabaseRetryMiddleware
from boss.errors import ProblemHandlers, problem_page_handler
from boss.health import health_handlers
from boss.http_metrics import HttpMetricsApp, HttpRecorder
from boss.http_semantics import HttpSemanticsApp
from boss.loader import LoadedPlugin, load_plugins
from boss.metrics_endpoint import MetricsRenderer, metrics_handler, multiprocess_dir
from boss.metrics_registry import (
    OVERFLOW_METRIC,
    MetricHandles,
    SeriesBudgets,
    materialise,
    zero_initialise,
)
from boss.openapi import FinishedJsonRenderPlugin
from boss.plugin import BossPlugin, PluginContext, Services
from boss.ratelimit import RateLimiter, RateLimitMiddleware
from boss.runtime.info import record_build_info
from boss.runtime.sampler import RuntimeSampler
from boss.settings import Settings, load_settings

__all__ = ("BossApp", "create_app", "load_plugins")

BossApp = Litestar | HttpSemanticsApp | HttpMetricsApp
logger = logging.getLogger("boss")
REQUEST_MAX_BODY = 1024 * 1024
"""Largest request body accepted (413 above); ``AppConfig`` has no default of its own."""


def _setup_plugins(
    loaded: Sequence[LoadedPlugin],
    settings: Settings,
    registry: CollectorRegistry,
    services: Services,
) -> dict[str, MetricHandles]:
    by_name: dict[str, BossPlugin] = {item.name: item.plugin for item in loaded}
    handles: dict[str, MetricHandles] = {}
    budgets = SeriesBudgets()
    for item in loaded:
        plugin = item.plugin
        config = (
            settings.section(plugin.name, plugin.settings_type) if plugin.settings_type else None
        )
        handles[plugin.name] = materialise(plugin.name, plugin.metrics, registry, budgets)
        if plugin.name == "core":
            budgets.attach(handles["core"].counter(OVERFLOW_METRIC))
            handles["core"].declare_label_values(
                OVERFLOW_METRIC,
                "metric",
                [s.name for other in loaded for s in other.plugin.metrics if s.max_series],
            )
        plugin.setup(
            PluginContext(
                settings=settings,
                metrics=handles[plugin.name],
                plugins=by_name,
                services=services,
                config=config,
            )
        )
    zero_initialise(handles.values())  # after every setup declared its run-time label values
    return handles


def _named_enums(loaded: Sequence[LoadedPlugin]) -> dict[str, tuple[str, ...]]:
    named: dict[str, tuple[str, ...]] = {}
    for item in loaded:
        named.update(item.plugin.openapi_enums)
    return named


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Sequence[Any] | None = None,
    registry: CollectorRegistry | None = None,
) -> BossApp:
    """Build the boss ASGI app.

    ``plugins`` replaces entry-point discovery (``core`` is added when missing); ``registry``
    defaults to a fresh one per app, so two apps in one process never share metrics.
    """
    settings = settings if settings is not None else load_settings()
    disable_created_metrics()  # type: ignore[no-untyped-call] # *_created series double the series count for no query we use
    registry = registry if registry is not None else CollectorRegistry()
    loaded = load_plugins(settings, plugins)
    services = Services()
    database = Database.from_settings(settings)  # connects lazily, on first use
    services.register(Database, database)
    handles = _setup_plugins(loaded, settings, registry, services)
    core = handles["core"]
    database.instrument(core)
    problems = ProblemHandlers(core.counter("errors_total"))
    keyring = load_keyring(settings)
    # The rate limiter runs after the API-key middleware, so it knows which key is calling.
    middleware: list[Any] = [DefineMiddleware(middleware_for(keyring))]
    limiter = RateLimiter.from_handles(settings, core) if settings.rate_limit.enabled else None
    if limiter is not None:
        middleware.append(DefineMiddleware(RateLimitMiddleware, limiter=limiter))
    # Innermost: a request that lost its database connection is repeated (once, when safe)
    # without authenticating or rate-limiting it twice.
    middleware.append(DefineMiddleware(DatabaseRetryMiddleware, database=database))
    db_faults = DatabaseFaultHandler(
        problems.unhandled,
        errors=core.counter("errors_total"),
        faults=core.counter("db_connection_faults_total"),
    )

    route_handlers: list[Any] = [
        *health_handlers(),
        database_health,
        whoami,
        problem_page_handler(),
    ]
    recorder = HttpRecorder(
        core.counter("http_requests_total"),
        core.histogram("http_request_duration_seconds"),
        # Another worker's scrape cannot flush this process, so batch only when alone.
        batched=multiprocess_dir() is None,
    )
    metrics_renderer = MetricsRenderer(registry)  # its render child process starts lazily
    record_build_info(core, loaded)
    sampler = RuntimeSampler(core, in_flight=lambda: recorder.in_flight)
    runtime_hooks: tuple[Any, ...] = ()
    if settings.metrics.enabled:

        def before_render() -> None:
            recorder.flush()
            sampler.sample()

        route_handlers.append(
            metrics_handler(
                settings.metrics.path,
                registry,
                settings.metrics.token,
                before_render=before_render,
                renderer=metrics_renderer,
            )
        )
        runtime_hooks = (sampler,)

    state = State(
        {
            "settings": settings,
            "registry": registry,
            "services": services,
            "database": database,
            "boss_plugins": [item.plugin for item in loaded],
            "boss_loaded": list(loaded),
            "rate_limiter": limiter,
            "keyring": keyring,
            "metrics_renderer": metrics_renderer,
            "runtime_sampler": sampler,
        }
    )
    config = AppConfig(
        route_handlers=route_handlers,
        plugins=[item.plugin for item in loaded],
        exception_handlers={**problems.mapping(), **db_faults.mapping()},
        lifespan=[database.lifespan],
        dependencies={"db_session": Provide(database.session_dependency)},
        middleware=middleware,
        on_startup=[
            *(hook.start for hook in runtime_hooks),
            *([limiter.start] if limiter is not None else []),
        ],
        on_shutdown=[
            metrics_renderer.close,
            *(hook.stop for hook in runtime_hooks),
            *([limiter.close] if limiter is not None else []),
        ],
        state=state,
        openapi_config=OpenAPIConfig(
            title="boss",
            version="0.1.0",
            description="Task workflow API. Everything under /api/ needs 'Authorization: Bearer <key>'.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"bearer": []}],
            path="/schema",
            render_plugins=[
                ScalarRenderPlugin(),
                FinishedJsonRenderPlugin(
                    named_enums=_named_enums(loaded), rate_limited=limiter is not None
                ),
            ],
        ),
        debug=False,
        request_max_body_size=REQUEST_MAX_BODY,
    )
    app = HttpSemanticsApp(Litestar.from_config(config))
    if not settings.metrics.enabled:
        return app
    return HttpMetricsApp(
        app,
        recorder=recorder,
        errors=core.counter("errors_total"),
        skip_paths=frozenset({settings.metrics.path}),
    )
