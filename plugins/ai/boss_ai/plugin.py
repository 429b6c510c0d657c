"""``AIPlugin``: ``POST /api/ai/parse`` and ``POST /api/ai/tasks`` over the chosen provider."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import httpx
import msgspec
from litestar import Litestar, Request, Response, post
from litestar.config.app import AppConfig
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from boss import AlertRule, BossPlugin, MetricSpec, Panel, PluginContext, RuleTest
from boss.auth import ApiKey
from boss.errors import problem_response
from boss_ai.draft import ParseRequest, TaskDraft
from boss_ai.errors import ProviderError
from boss_ai.observability import ALERTS, METRICS, PANELS, RULE_TESTS
from boss_ai.provider import Provider, build_provider
from boss_ai.settings import AISettings

if TYPE_CHECKING:
    from boss_tasks.service import TaskService

__all__ = ("AIPlugin", "AITaskResult")

logger = logging.getLogger("boss.ai")


class AITaskResult(msgspec.Struct, kw_only=True):
    """``POST /api/ai/tasks`` answer: the created task and the draft it came from."""

    task: Any
    """The task as the tasks plugin returns it (``boss_tasks.service.Task``)."""
    draft: TaskDraft


def _text(data: ParseRequest) -> str:
    text = data.text.strip()
    if not text:
        raise ValidationException(
            "Validation failed for text: must not be blank",
            extra=[{"key": "text", "source": "body", "message": "must not be blank"}],
        )
    return text


def _actor(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    return user.name if isinstance(user, ApiKey) else "anonymous"


def _failure(exc: ProviderError) -> Response[Any]:
    return problem_response(exc.status_code, exc.detail, extra={"provider_error": exc.kind})


class AIPlugin(BossPlugin):
    """Natural-language task intake: an LLM (any OpenAI-compatible API) or offline rules."""

    name = "ai"
    title = "AI task intake"
    requires: ClassVar[tuple[str, ...]] = ("tasks",)
    metrics: ClassVar[tuple[MetricSpec, ...]] = METRICS
    alerts: ClassVar[tuple[AlertRule, ...]] = ALERTS
    rule_tests: ClassVar[tuple[RuleTest, ...]] = RULE_TESTS
    panels: ClassVar[tuple[Panel, ...]] = PANELS
    settings_type: ClassVar[type[Any] | None] = AISettings

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        """``clock`` and ``sleep`` replace the wall clock and retry waits (tests, embedding)."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep or anyio.sleep
        self.provider: Provider | None = None

    def setup(self, context: PluginContext) -> None:
        """Read the settings and keep the metric handles; the provider starts with the app."""
        super().setup(context)
        self.settings: AISettings = context.config or AISettings()
        self.requests = context.metrics.counter("ai_requests_total")
        self.duration = context.metrics.histogram("ai_request_duration_seconds")

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        client = None
        if self.settings.provider != "offline":
            client = httpx.AsyncClient(timeout=self.settings.timeout)
        self.provider = build_provider(self.settings, client, sleep=self._sleep)
        try:
            yield
        finally:
            self.provider = None
            if client is not None:
                await client.aclose()

    def _tasks(self) -> TaskService:
        tasks_plugin: Any = self.context.plugins["tasks"]
        service: TaskService = tasks_plugin.service
        return service

    async def draft(self, text: str, operation: str) -> TaskDraft:
        """Run the provider, measuring and counting it; raises ``ProviderError``."""
        provider = self.provider
        if provider is None:
            raise ProviderError("unavailable", "the AI plugin is not running")
        started = time.perf_counter()
        try:
            draft = await provider.draft(text, now=self._clock())
        except ProviderError as exc:
            self.requests.labels(operation, exc.kind).inc()
            logger.warning("ai: %s failed (%s): %s", operation, exc.kind, exc.detail)
            raise
        finally:
            self.duration.labels(operation).observe(time.perf_counter() - started)
        return draft

    def _handlers(self) -> list[Any]:
        plugin = self

        @post(
            "/api/ai/parse",
            tags=["ai"],
            status_code=200,
            summary="Turn free text into a task draft",
        )
        async def parse_text(data: JSONBody[ParseRequest]) -> Response[Any]:
            """Read a task out of ``text`` without creating anything."""
            try:
                draft = await plugin.draft(_text(data), "parse")
            except ProviderError as exc:
                return _failure(exc)
            plugin.requests.labels("parse", "ok").inc()
            return Response(draft, status_code=200)

        @post("/api/ai/tasks", tags=["ai"], status_code=201, summary="Create a task from free text")
        async def create_task(
            request: Request[Any, Any, Any], data: JSONBody[ParseRequest]
        ) -> Response[Any]:
            """Draft a task from ``text`` and create it through the tasks plugin (audit and events
            included); a provider failure creates nothing."""
            from boss_tasks.errors import InvalidTaskInput
            from boss_tasks.service import TaskCreate

            text = _text(data)
            try:
                draft = await plugin.draft(text, "create")
            except ProviderError as exc:
                return _failure(exc)
            try:
                task = await plugin._tasks().create(
                    TaskCreate(
                        title=draft.title,
                        description=draft.description,
                        assignee=draft.assignee,
                        priority=draft.priority,
                        deadline=draft.deadline,
                    ),
                    actor=_actor(request),
                )
            except InvalidTaskInput as exc:
                plugin.requests.labels("create", "error").inc()
                return problem_response(
                    422,
                    f"The draft cannot become a task: {exc.field}: {exc.message}",
                    extra={
                        "errors": [{"field": exc.field, "source": "draft", "message": exc.message}]
                    },
                )
            except Exception:
                plugin.requests.labels("create", "error").inc()
                raise
            plugin.requests.labels("create", "ok").inc()
            return Response(AITaskResult(task=task, draft=draft), status_code=201)

        return [parse_text, create_task]

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the two routes and the lifespan that owns the provider's HTTP client."""
        app_config.route_handlers.extend(self._handlers())
        app_config.lifespan.append(self._lifespan)
        return app_config

    async def ping(self) -> str | None:
        """Readiness detail: which provider answers (the remote one is not called)."""
        if self.provider is None:
            return "not started"
        return self.provider.describe()
