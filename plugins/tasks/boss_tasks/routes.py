"""The HTTP API under ``/api/db``: tasks, their status workflow and their audit trail.

Handlers are thin: they read the caller (``request.user``) and the version (body field or
``If-Match``), call ``TaskService`` and turn its errors into problem answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import UNSET

from boss.auth import ApiKey
from boss.errors import problem_response
from boss_tasks.errors import (
    InvalidTaskInput,
    InvalidTransition,
    TaskError,
    TaskNotFound,
    VersionConflict,
)
from boss_tasks.models import ASSIGNEE_MAX, AuditTrail, StatusChange, Task, TaskCreate, TaskPage
from boss_tasks.models import TaskUpdate as TaskPatch
from boss_tasks.service import MAX_PAGE_SIZE, TaskService
from boss_tasks.workflow import Priority, Status

__all__ = ("build_router", "task_error_handler")

ETAG_RE = re.compile(r'^\s*(?:W/)?"?([0-9]{1,9})"?\s*$')


def _actor(request: Request[Any, Any, Any]) -> str:
    user = request.user
    if isinstance(user, ApiKey):
        return user.name or user.role
    return "anonymous"


def _version(request: Request[Any, Any, Any], body_version: int | None) -> int:
    """The expected version from the body or ``If-Match``; they must agree when both exist."""
    header = request.headers.get("if-match")
    from_header: int | None = None
    if header is not None:
        match = ETAG_RE.match(header)
        if match is None or int(match.group(1)) < 1:
            raise InvalidTaskInput(
                "If-Match", 'must be the task\'s ETag, e.g. "3"', source="header"
            )
        from_header = int(match.group(1))
    if body_version is not None and from_header is not None and body_version != from_header:
        raise InvalidTaskInput("version", "the body's version and If-Match disagree")
    found = body_version if body_version is not None else from_header
    if found is None:
        raise InvalidTaskInput("version", "required: send 'version' or an If-Match header")
    return found


def _task_response(task: Task, status_code: int = 200) -> Response[Task]:
    return Response(task, status_code=status_code, headers={"ETag": f'"{task.version}"'})


@post("/tasks", status_code=201, summary="Create a task", tags=["tasks"])
async def create_task(
    data: JSONBody[TaskCreate], request: Request[Any, Any, Any], tasks: NamedDependency[TaskService]
) -> Response[Task]:
    """Create a ``pending`` task; the answer carries its id, version and an ``ETag``."""
    task = await tasks.create(data, actor=_actor(request))
    return _task_response(task, 201)


@get("/tasks", summary="List tasks", tags=["tasks"])
async def list_tasks(
    tasks: NamedDependency[TaskService],
    status: FromQuery[Status | None] = None,
    assignee: Annotated[str | None, QueryParameter(max_length=ASSIGNEE_MAX)] = None,
    priority: FromQuery[Priority | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> TaskPage:
    """Tasks matching every given filter, newest first, with the total number of matches."""
    return await tasks.list(
        status=status, assignee=assignee, priority=priority, limit=limit, offset=offset
    )


@get("/tasks/{task_id:str}", summary="Get a task", tags=["tasks"])
async def get_task(task_id: FromPath[str], tasks: NamedDependency[TaskService]) -> Response[Task]:
    """One task (404 problem when unknown); ``ETag`` is its version."""
    return _task_response(await tasks.get(task_id))


@patch("/tasks/{task_id:str}", summary="Change a task's fields", tags=["tasks"])
async def patch_task(
    task_id: FromPath[str],
    data: JSONBody[TaskPatch],
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
) -> Response[Task]:
    """Change title, description, assignee, priority or deadline at the version you saw.

    A stale version answers 409 and changes nothing.
    """
    version = _version(request, None if data.version is UNSET else data.version)
    task = await tasks.update(task_id, data, actor=_actor(request), version=version)
    return _task_response(task)


@post("/tasks/{task_id:str}/status", status_code=200, summary="Change status", tags=["tasks"])
async def change_status(
    task_id: FromPath[str],
    data: JSONBody[StatusChange],
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
) -> Response[Task]:
    """Move the task through the state machine; a forbidden transition answers 409."""
    version = _version(request, None if data.version is UNSET else data.version)
    task = await tasks.change_status(
        task_id, data.status, actor=_actor(request), version=version, note=data.note
    )
    return _task_response(task)


@get("/audit/{task_id:str}", summary="A task's audit trail", tags=["tasks"])
async def task_audit(task_id: FromPath[str], tasks: NamedDependency[TaskService]) -> AuditTrail:
    """Who changed what, from what to what, oldest first."""
    return AuditTrail(task_id=task_id, entries=await tasks.history(task_id))


def task_error_handler(request: Request[Any, Any, Any], exc: TaskError) -> Response[Any]:
    """Map service errors to problem answers (400 naming the field, 404, 409)."""
    if isinstance(exc, InvalidTaskInput):
        error = {"field": exc.field, "source": exc.source, "message": exc.message}
        return problem_response(
            400, f"Validation failed for {exc.field}: {exc.message}", extra={"errors": [error]}
        )
    if isinstance(exc, TaskNotFound):
        return problem_response(404, str(exc), extra={"task_id": exc.task_id})
    if isinstance(exc, VersionConflict):
        return problem_response(
            409,
            str(exc),
            extra={"task_id": exc.task_id, "current_version": exc.current},
            headers={"ETag": f'"{exc.current}"'},
        )
    if isinstance(exc, InvalidTransition):
        return problem_response(
            409,
            str(exc),
            extra={"task_id": exc.task_id, "current_status": exc.old, "allowed": exc.allowed},
        )
    return problem_response(400, str(exc))


def build_router(service: Callable[[], TaskService]) -> Router:
    """The ``/api/db`` router; ``service`` returns the running ``TaskService``."""

    def provide() -> TaskService:
        return service()

    return Router(
        path="/api/db",
        route_handlers=[create_task, list_tasks, get_task, patch_task, change_status, task_audit],
        dependencies={"tasks": Provide(provide, sync_to_thread=False)},
        exception_handlers={TaskError: task_error_handler},
    )
