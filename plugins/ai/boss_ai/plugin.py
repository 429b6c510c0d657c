"""``AIPlugin``: ``POST /api/ai/parse`` and ``POST /api/ai/tasks`` over the chosen provider."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

import anyio
import httpx
import msgspec
from boss_tasks.errors import InvalidTaskInput
from boss_tasks.idempotency import IdempotencyKey, Within, idempotent_create
from boss_tasks.service import Task, TaskCreate, TaskService
from litestar import Litestar, Request, Response, post
from litestar.config.app import AppConfig
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from boss import AlertRule, BossPlugin, MetricSpec, Panel, PluginContext, RuleTest
from boss.auth import ApiKey
from boss.errors import PROBLEM_JSON
from boss.validation import BODY_CHECKS_OPT, BODY_TYPE_OPT, control_character, strict_request
from boss_ai.draft import ParseRequest, TaskDraft, zone
from boss_ai.errors import ProviderError
from boss_ai.observability import ALERTS, METRICS, PANELS, RULE_TESTS
from boss_ai.provider import Provider, build_provider
from boss_ai.settings import AISettings

__all__ = ("AIPlugin", "AITaskResult")

logger = logging.getLogger("boss.ai")


class AITaskResult(msgspec.Struct, kw_only=True):
    """``POST /api/ai/tasks`` answer: the created task and the draft it came from."""

    task: Task
    """The task as the tasks plugin stores it."""
    draft: TaskDraft


def _text_check(text: str) -> str | None:
    if not text.strip():
        return "must not be blank"
    # a pasted message keeps its line breaks and tabs; other control characters are refused
    return control_character(text, multiline=True)


def _timezone_check(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        zone(name)
    except ValueError as exc:
        return str(exc)
    return control_character(name)


PARSE_CHECKS = {"text": _text_check, "timezone": _timezone_check}
"""Field checks ``strict_request`` runs on an AI request body (every bad field at once)."""
PARSE_OPT: dict[str, Any] = {BODY_TYPE_OPT: ParseRequest, BODY_CHECKS_OPT: PARSE_CHECKS}


def _reading(data: ParseRequest) -> tuple[str, datetime | None, tzinfo | None]:
    """The request's text, reference time and zone (``PARSE_CHECKS`` validated them)."""
    tz = zone(data.timezone) if data.timezone is not None else None
    now = data.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return data.text.strip(), now, tz


def _actor(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    return user.name if isinstance(user, ApiKey) else "anonymous"


def _failure(exc: ProviderError) -> HTTPException:
    """The problem answer for a provider failure (502/503/504, ``provider_error`` names it)."""
    return HTTPException(
        status_code=exc.status_code, detail=exc.detail, extra={"provider_error": exc.kind}
    )


_FAILURES: dict[int, ResponseSpec] = {
    code: ResponseSpec(
        data_container=dict[str, Any],
        media_type=PROBLEM_JSON,
        description=f"{meaning}; nothing is created (problem JSON, provider_error={kind!r})",
        generate_examples=False,
    )
    for code, kind, meaning in (
        (502, "bad_answer", "The provider's answer is not a valid task draft"),
        (503, "unavailable", "The provider is unavailable or rate limited after retries"),
        (504, "timeout", "The provider did not answer in time"),
    )
}
_CREATE_ANSWERS: dict[int, ResponseSpec] = {
    **_FAILURES,
    **{
        code: ResponseSpec(
            data_container=dict[str, Any],
            media_type=PROBLEM_JSON,
            description=meaning,
            generate_examples=False,
        )
        for code, meaning in (
            (
                409,
                "A request with this `Idempotency-Key` is still running "
                "(`/problems/idempotency-in-progress`)",
            ),
            (
                422,
                "The draft cannot become a task (`/problems/validation`), or the "
                "`Idempotency-Key` was used with another body (`/problems/idempotency-key-reused`)",
            ),
            (
                503,
                "The provider is unavailable or rate limited after retries (`/problems/unavailable`,"
                " provider_error='unavailable'), or the database is (`/problems/database-unavailable`,"
                " retry after `Retry-After` seconds); nothing is created",
            ),
        )
    },
}
"""``POST /api/ai/tasks`` also writes the task (database) and honours ``Idempotency-Key``."""


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
        self.timezone: tzinfo = zone(self.settings.timezone)
        self.requests = context.metrics.counter("ai_requests_total")
        self.duration = context.metrics.histogram("ai_request_duration_seconds")

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        client = None
        if self.settings.provider != "offline":
            client = httpx.AsyncClient(timeout=self.settings.timeout)
        self.provider = build_provider(
            self.settings, client, sleep=self._sleep, known_assignees=self._known_assignees()
        )
        try:
            yield
        finally:
            self.provider = None
            if client is not None:
                await client.aclose()

    def _known_assignees(self) -> tuple[str, ...]:
        """``BOSS_TASKS__KNOWN_ASSIGNEES``: names the offline parser trusts in weak contexts."""
        tasks_plugin: Any = self.context.plugins.get("tasks")
        settings = getattr(tasks_plugin, "settings", None)
        return tuple(getattr(settings, "known_assignees", ()) or ())

    def _tasks(self) -> TaskService:
        tasks_plugin: Any = self.context.plugins["tasks"]
        service: TaskService = tasks_plugin.service
        return service

    async def draft(
        self,
        text: str,
        operation: str,
        *,
        now: datetime | None = None,
        tz: tzinfo | None = None,
    ) -> TaskDraft:
        """Run the provider, measuring and counting it; raises ``ProviderError``.

        ``now`` and ``tz`` default to the clock and ``BOSS_AI__TIMEZONE``."""
        provider = self.provider
        if provider is None:
            raise ProviderError("unavailable", "the AI plugin is not running")
        started = time.perf_counter()
        try:
            draft = await provider.draft(text, now=now or self._clock(), tz=tz or self.timezone)
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
            responses=_FAILURES,
            before_request=strict_request,
            opt=PARSE_OPT,
        )
        async def parse_text(data: JSONBody[ParseRequest]) -> TaskDraft:
            """Read a task out of ``text`` without creating anything (``timezone`` and ``now``
            override the team's zone and the clock for this request)."""
            text, now, tz = _reading(data)
            try:
                draft = await plugin.draft(text, "parse", now=now, tz=tz)
            except ProviderError as exc:
                raise _failure(exc) from None
            plugin.requests.labels("parse", "ok").inc()
            return draft

        @post(
            "/api/ai/tasks",
            tags=["ai"],
            status_code=201,
            summary="Create a task from free text",
            response_headers=[
                ResponseHeader(
                    name="Location", documentation_only=True, description="The new task's URL"
                ),
                ResponseHeader(
                    name="ETag",
                    documentation_only=True,
                    description='The task\'s version, e.g. "1"',
                ),
            ],
            responses=_CREATE_ANSWERS,
            before_request=strict_request,
            opt=PARSE_OPT,
        )
        async def create_task(
            request: Request[Any, Any, Any],
            data: JSONBody[ParseRequest],
            idempotency_key: IdempotencyKey = None,
        ) -> Response[AITaskResult]:
            """Draft a task from ``text`` and create it through the tasks plugin (audit and events
            included); a provider failure creates nothing. ``timezone`` and ``now`` count as for
            ``parse``. With an ``Idempotency-Key`` a retry (same key and body, within 24 hours)
            returns the first answer."""
            text, now, tz = _reading(data)
            drafts: list[TaskDraft] = []

            async def create(within: Within | None) -> Task:
                try:
                    draft = await plugin.draft(text, "create", now=now, tz=tz)
                except ProviderError as exc:
                    raise _failure(exc) from None
                drafts.append(draft)
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
                        within=within,
                    )
                except InvalidTaskInput as exc:
                    plugin.requests.labels("create", "error").inc()
                    raise HTTPException(
                        status_code=422,
                        detail=f"The draft cannot become a task: {exc.field}: {exc.message}",
                        extra={
                            "errors": [
                                {"field": exc.field, "source": "draft", "message": exc.message}
                            ]
                        },
                    ) from None
                except Exception:
                    plugin.requests.labels("create", "error").inc()
                    raise
                plugin.requests.labels("create", "ok").inc()
                return task

            def respond(task: Task) -> Response[AITaskResult]:
                return Response(
                    AITaskResult(task=task, draft=drafts[-1]),
                    status_code=201,
                    headers={"Location": f"/api/db/tasks/{task.id}", "ETag": f'"{task.version}"'},
                )

            tasks_plugin: Any = plugin.context.plugins["tasks"]
            return await idempotent_create(
                tasks_plugin.idempotency, request, "ai.tasks", create, respond
            )

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
