"""The HTTP API under ``/api/db``: tasks, their status workflow and their audit trail.

Handlers are thin: a ``before_request`` hook checks the request strictly (every invalid
field at once, 415 for non-JSON bodies); handlers read the caller and the preconditions
(``If-Match``, ``If-None-Match``, body ``version``), call ``TaskService`` and turn its errors
into problem answers with distinct ``type`` URIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Operation, RequestBody, Schema
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from msgspec import UNSET

from boss.auth import ApiKey
from boss.errors import PROBLEM_JSON, ProblemBody, problem_response
from boss.openapi import DATABASE_UNAVAILABLE_DESCRIPTION
from boss.validation import BODY_CHECKS_OPT, BODY_TYPE_OPT, raise_errors, strict_request
from boss_tasks.errors import (
    InvalidTaskInput,
    InvalidTransition,
    TaskError,
    TaskNotFound,
    VersionConflict,
)
from boss_tasks.idempotency import IdempotencyKey, IdempotencyStore, idempotent_create
from boss_tasks.listing import DEFAULT_SORT, Sort, TaskQuery
from boss_tasks.models import (
    ASSIGNEE_MAX,
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    AuditTrail,
    StatusChange,
    Task,
    TaskCreate,
    TaskPage,
)
from boss_tasks.models import TaskUpdate as TaskPatch
from boss_tasks.service import (
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    TASK_ID_RE,
    TaskService,
    deadline_problem,
    text_problem,
)
from boss_tasks.workflow import Priority, Status

__all__ = ("QUERY_MAX", "build_router", "task_error_handler")

ETAG_RE = re.compile(r'^\s*(?:W/)?"?([0-9]{1,9})"?\s*$')
ETAG_PATTERN = r'^(W/)?"[1-9][0-9]{0,8}"$'
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        pattern=ETAG_PATTERN,
        description='The ETag you last saw, e.g. `"3"`: stale answers 412',
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        description='ETags you hold (`"3"`, a list or `*`): 304 when one is current',
        max_length=1000,
    ),
]
QUERY_MAX = 200
CURSOR_MAX = 512
TAGS = ["tasks"]
TaskId = Annotated[
    str,
    PathParameter(description="The task's id, `TASK-<n>`", pattern=r"^TASK-[1-9][0-9]{0,17}$"),
]


class PreconditionFailed(TaskError):
    """``If-Match`` names a version that is not current (412)."""

    def __init__(self, task_id: str, current: int) -> None:
        super().__init__(
            f"If-Match does not match: task {task_id} is at version {current}; "
            "reload it and apply your change again"
        )
        self.task_id = task_id
        self.current = current


class PreconditionRequired(TaskError):
    """A change names no version at all (428)."""


def _text_check(maximum: int, *, required: bool, multiline: bool) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        return text_problem(value, maximum=maximum, required=required, multiline=multiline)

    return check


def _deadline_check(value: Any) -> str | None:
    return None if value is None else deadline_problem(value)


TASK_CHECKS = {
    "title": _text_check(TITLE_MAX, required=True, multiline=False),
    "description": _text_check(DESCRIPTION_MAX, required=False, multiline=True),
    "assignee": _text_check(ASSIGNEE_MAX, required=True, multiline=False),
    "deadline": _deadline_check,
}
STATUS_CHECKS = {"note": _text_check(NOTE_MAX, required=False, multiline=True)}


def _actor(request: Request[Any, Any, Any]) -> str:
    user = request.user
    if isinstance(user, ApiKey):
        return user.name or user.role
    return "anonymous"


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(request: Request[Any, Any, Any]) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    match = ETAG_RE.match(header)
    if match is None or int(match.group(1)) < 1:
        raise InvalidTaskInput("If-Match", 'must be the task\'s ETag, e.g. "3"', source="header")
    return int(match.group(1))


def _preconditions(
    request: Request[Any, Any, Any], body_version: int | None
) -> tuple[int | None, int | None]:
    """``(If-Match version, body version)``; they must agree when both are sent."""
    header = _if_match(request)
    if body_version is not None and header is not None and body_version != header:
        raise InvalidTaskInput("version", "the body's version and If-Match disagree")
    return header, body_version


async def _guarded(
    task_id: str, header: int | None, body: int | None, run: Callable[[int | None], Any]
) -> Task:
    """Run a change at the expected version; a stale ``If-Match`` is 412, a stale body 409."""
    try:
        task: Task = await run(header if header is not None else body)
    except VersionConflict as exc:
        if header is not None:
            raise PreconditionFailed(task_id, exc.current) from None
        raise
    return task


def _task_response(task: Task, status_code: int = 200, **headers: str) -> Response[Task]:
    return Response(task, status_code=status_code, headers={"ETag": _etag(task.version), **headers})


@dataclass
class VersionRequiredOperation(Operation):
    """Documents the body's ``version`` as required (``If-Match`` is the documented alternative).

    Without it a client, or a schema-driven fuzzer, would send changes without any version
    and always get 428.
    """

    def __post_init__(self) -> None:
        body = self.request_body
        if isinstance(body, RequestBody):
            for media in body.content.values():
                if media.schema is not None:
                    media.schema = Schema(all_of=[media.schema, Schema(required=["version"])])


def _problems(*codes: int) -> dict[int, ResponseSpec]:
    meanings = {
        304: "Not modified: `If-None-Match` names the current ETag",
        404: "No task with this id (or it was deleted)",
        409: "Version conflict (stale body `version`) or a forbidden status transition",
        412: "Precondition failed: `If-Match` names a stale version",
        422: "Idempotency-Key reused with a different body",
        428: "Precondition required: send `If-Match` or the body's `version`",
        503: DATABASE_UNAVAILABLE_DESCRIPTION,
    }
    return {
        code: ResponseSpec(
            None if code == 304 else ProblemBody,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            description=meanings[code],
        )
        for code in codes
    }


ETAG_HEADER = ResponseHeader(
    name="ETag", documentation_only=True, description='The task\'s version, e.g. "3"'
)
TASK_PATH = "/api/db/tasks"


@post(
    "/tasks",
    status_code=201,
    summary="Create a task",
    operation_id="createTask",
    tags=TAGS,
    opt={BODY_TYPE_OPT: TaskCreate, BODY_CHECKS_OPT: TASK_CHECKS},
    response_headers=[
        ETAG_HEADER,
        ResponseHeader(name="Location", documentation_only=True, description="The new task's URL"),
    ],
    responses=_problems(409, 422, 503),
)
async def create_task(
    data: JSONBody[TaskCreate],
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    idempotency: NamedDependency[IdempotencyStore],
    idempotency_key: IdempotencyKey = None,
) -> Response[Task]:
    """Create a ``pending`` task: 201 with ``Location`` and ``ETag``.

    With an ``Idempotency-Key`` a retry (same key, same body, within 24 hours) returns the
    first answer and creates nothing.
    """
    body: TaskCreate = request.state.get("body", data)
    actor = _actor(request)

    def respond(task: Task) -> Response[Task]:
        return _task_response(task, 201, Location=f"{TASK_PATH}/{task.id}")

    return await idempotent_create(
        idempotency,
        request,
        "tasks.create",
        lambda within: tasks.create(body, actor=actor, within=within),
        respond,
    )


def _aware(name: str, value: datetime | None, errors: list[dict[str, str]]) -> datetime | None:
    if value is None:
        return None
    problem = deadline_problem(value)
    if problem:
        errors.append({"field": name, "source": "query", "message": problem})
        return None
    return value.astimezone(UTC)


def _next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")]
    pairs.append(("cursor", cursor))
    return f'<{request.url.path}?{urlencode(pairs)}>; rel="next"'


@get(
    "/tasks",
    summary="List tasks",
    operation_id="listTasks",
    tags=TAGS,
    responses=_problems(503),
    response_headers=[
        ResponseHeader(
            name="Link",
            documentation_only=True,
            description='`<…?cursor=…>; rel="next"` when there is a next page',
        )
    ],
)
async def list_tasks(
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    status: Annotated[
        list[Status] | None, QueryParameter(description="Any of these statuses (repeatable)")
    ] = None,
    priority: Annotated[
        list[Priority] | None, QueryParameter(description="Any of these priorities (repeatable)")
    ] = None,
    assignee: Annotated[
        list[str] | None,
        QueryParameter(
            description="Any of these assignees, case-insensitive (repeatable)",
            max_length=ASSIGNEE_MAX,
        ),
    ] = None,
    unassigned: Annotated[
        bool | None,
        QueryParameter(description="true: tasks without assignee (or of `assignee`); false: with"),
    ] = None,
    q: Annotated[
        str | None,
        QueryParameter(
            description="Case-insensitive text in the title or description",
            min_length=1,
            max_length=QUERY_MAX,
        ),
    ] = None,
    due_before: Annotated[
        datetime | None, QueryParameter(description="Deadline before this date-time (with offset)")
    ] = None,
    due_after: Annotated[
        datetime | None, QueryParameter(description="Deadline after this date-time (with offset)")
    ] = None,
    overdue: Annotated[
        bool | None,
        QueryParameter(description="true: deadline passed and not completed or cancelled"),
    ] = None,
    updated_since: Annotated[
        datetime | None, QueryParameter(description="Changed at or after this date-time")
    ] = None,
    sort: Annotated[
        Sort, QueryParameter(description="Order (`-` descending); ties broken by id")
    ] = DEFAULT_SORT,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Annotated[
        str | None,
        QueryParameter(
            description="`next_cursor` of the previous page", min_length=1, max_length=CURSOR_MAX
        ),
    ] = None,
) -> Response[TaskPage]:
    """Tasks matching every given filter (a repeated filter means any of its values)."""
    errors: list[dict[str, str]] = []
    for name, values in (("assignee", assignee or ()),):
        for value in values:
            problem = text_problem(value, maximum=ASSIGNEE_MAX, required=True, multiline=False)
            if problem:
                errors.append({"field": name, "source": "query", "message": problem})
    if q is not None and not q.strip():
        errors.append({"field": "q", "source": "query", "message": "must not be blank"})
    query = TaskQuery(
        status=tuple(dict.fromkeys(status or ())),
        priority=tuple(dict.fromkeys(priority or ())),
        assignee=tuple(dict.fromkeys(assignee or ())),
        unassigned=unassigned,
        q=q,
        due_before=_aware("due_before", due_before, errors),
        due_after=_aware("due_after", due_after, errors),
        overdue=overdue,
        updated_since=_aware("updated_since", updated_since, errors),
        sort=sort,
    )
    raise_errors(errors)
    page = await tasks.list(query, limit=limit, offset=offset, cursor=cursor)
    headers = {"Link": _next_link(request, page.next_cursor)} if page.next_cursor else {}
    return Response(page, headers=headers)


@get(
    "/tasks/{task_id:str}",
    summary="Get a task",
    operation_id="getTask",
    tags=TAGS,
    response_headers=[ETAG_HEADER],
    responses=_problems(304, 404, 503),
)
async def get_task(
    task_id: TaskId,
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    if_none_match: IfNoneMatch = None,
) -> Response[Any]:
    """One task with its ``ETag``; 304 when ``If-None-Match`` names the current one."""
    task = await tasks.get(task_id)
    etag = _etag(task.version)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        if "*" in tags or etag in tags:
            return Response(None, status_code=304, headers={"ETag": etag})
    return _task_response(task)


@patch(
    "/tasks/{task_id:str}",
    summary="Change a task's fields",
    operation_id="updateTask",
    operation_class=VersionRequiredOperation,
    tags=TAGS,
    opt={BODY_TYPE_OPT: TaskPatch, BODY_CHECKS_OPT: TASK_CHECKS},
    response_headers=[ETAG_HEADER],
    responses=_problems(404, 409, 412, 428, 503),
)
async def patch_task(
    task_id: TaskId,
    data: JSONBody[TaskPatch],
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    if_match: IfMatch = None,
) -> Response[Task]:
    """Change title, description, assignee, priority or deadline at the version you saw.

    Name it with ``If-Match`` (stale: 412) or the body's ``version`` (stale: 409); with
    neither the answer is 428.
    """
    body: TaskPatch = request.state.get("body", data)
    header, version = _preconditions(request, None if body.version is UNSET else body.version)
    if header is None and version is None:
        raise PreconditionRequired(
            "a change needs the version you last saw: send If-Match or the body's 'version'"
        )
    actor = _actor(request)
    task = await _guarded(
        task_id,
        header,
        version,
        lambda expected: tasks.update(task_id, body, actor=actor, version=expected),
    )
    return _task_response(task)


@post(
    "/tasks/{task_id:str}/status",
    status_code=200,
    summary="Change status",
    operation_id="changeTaskStatus",
    tags=TAGS,
    opt={BODY_TYPE_OPT: StatusChange, BODY_CHECKS_OPT: STATUS_CHECKS},
    response_headers=[ETAG_HEADER],
    responses=_problems(404, 409, 412, 503),
)
async def change_status(
    task_id: TaskId,
    data: JSONBody[StatusChange],
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    if_match: IfMatch = None,
) -> Response[Task]:
    """Move the task through the state machine (a command: no version needed).

    A forbidden transition answers 409; a given ``version`` (409) or ``If-Match`` (412) must
    be current.
    """
    body: StatusChange = request.state.get("body", data)
    header, version = _preconditions(request, None if body.version is UNSET else body.version)
    actor = _actor(request)
    task = await _guarded(
        task_id,
        header,
        version,
        lambda expected: tasks.change_status(
            task_id, body.status, actor=actor, version=expected, note=body.note
        ),
    )
    return _task_response(task)


@delete(
    "/tasks/{task_id:str}",
    status_code=204,
    summary="Delete a task",
    operation_id="deleteTask",
    tags=TAGS,
    responses=_problems(404, 412, 503),
)
async def delete_task(
    task_id: TaskId,
    request: Request[Any, Any, Any],
    tasks: NamedDependency[TaskService],
    if_match: IfMatch = None,
) -> None:
    """Hide the task from reads and lists (404 afterwards); its audit trail stays readable.

    ``If-Match`` is optional; a stale one answers 412.
    """
    header = _if_match(request)
    actor = _actor(request)
    await _guarded(
        task_id,
        header,
        None,
        lambda expected: tasks.delete(task_id, actor=actor, version=expected),
    )


@get(
    "/audit/{task_id:str}",
    summary="A task's audit trail",
    operation_id="getTaskAudit",
    tags=TAGS,
    responses=_problems(404, 503),
)
async def task_audit(task_id: TaskId, tasks: NamedDependency[TaskService]) -> AuditTrail:
    """Who changed what, from what to what, oldest first (also for a deleted task)."""
    return AuditTrail(task_id=task_id, entries=await tasks.history(task_id))


def task_error_handler(request: Request[Any, Any, Any], exc: TaskError) -> Response[Any]:
    """Map service errors to problem answers, each with its own ``type``."""
    if isinstance(exc, InvalidTaskInput):
        error = {"field": exc.field, "source": exc.source, "message": exc.message}
        return problem_response(
            400,
            f"Validation failed for {exc.field}: {exc.message}",
            kind="validation",
            extra={"errors": [error]},
        )
    if isinstance(exc, TaskNotFound):
        return problem_response(404, str(exc), kind="not-found", extra={"task_id": exc.task_id})
    if isinstance(exc, PreconditionFailed):
        return problem_response(
            412,
            str(exc),
            kind="precondition-failed",
            extra={"task_id": exc.task_id, "current_version": exc.current},
            headers={"ETag": _etag(exc.current)},
        )
    if isinstance(exc, PreconditionRequired):
        return problem_response(428, str(exc), kind="precondition-required")
    if isinstance(exc, VersionConflict):
        return problem_response(
            409,
            str(exc),
            kind="version-conflict",
            extra={"task_id": exc.task_id, "current_version": exc.current},
            headers={"ETag": _etag(exc.current)},
        )
    if isinstance(exc, InvalidTransition):
        return problem_response(
            409,
            str(exc),
            kind="invalid-transition",
            extra={"task_id": exc.task_id, "current_status": exc.old, "allowed": exc.allowed},
        )
    return problem_response(400, str(exc))


async def _check_request(request: Request[Any, Any, Any]) -> None:
    """Strict checks, with a malformed ``task_id`` reported alongside the body's errors."""
    errors: list[dict[str, str]] = []
    task_id = request.path_params.get("task_id")
    if isinstance(task_id, str) and TASK_ID_RE.match(task_id) is None:
        errors.append(
            {
                "field": "task_id",
                "source": "path",
                "message": "must look like TASK-<n> (n a positive number)",
            }
        )
    await strict_request(request, errors)


def build_router(
    service: Callable[[], TaskService], idempotency: Callable[[], IdempotencyStore | None]
) -> Router:
    """The ``/api/db`` router; the callables return the running service and key store."""

    def provide() -> TaskService:
        return service()

    def provide_idempotency() -> IdempotencyStore | None:
        return idempotency()

    return Router(
        path="/api/db",
        route_handlers=[
            create_task,
            list_tasks,
            get_task,
            patch_task,
            change_status,
            delete_task,
            task_audit,
        ],
        dependencies={
            "tasks": Provide(provide, sync_to_thread=False),
            "idempotency": Provide(provide_idempotency, sync_to_thread=False),
        },
        exception_handlers={TaskError: task_error_handler},
        before_request=_check_request,
    )
