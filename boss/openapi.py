"""The served OpenAPI document, finished so that a client generator can trust it.

Litestar documents what handlers declare; boss answers more than that on every route
(problem JSON for 400/401/403/404/413/415/429/503, rate-limit headers) and shares enums
between operations. ``finish_schema`` completes the generated document once, and
``FinishedJsonRenderPlugin`` serves the result at ``/schema/openapi.json``:

- every 4xx/5xx answer is ``application/problem+json`` with the ``Problem`` schema;
- every operation lists the statuses the core can answer for it, with their headers
  (``Retry-After`` and ``RateLimit-*`` on 429, ``ETag`` on 409/412 where the success
  answer has one, ``RateLimit-*`` on the successes of rate-limited paths);
- ``/health*``, ``/metrics`` and ``/schema`` need no security;
- enums named by plugins (``BossPlugin.openapi_enums``) become ``$ref`` components;
- request bodies the server checks strictly (``boss.validation.BODY_TYPE_OPT``: unknown
  fields are a 400) say so with ``additionalProperties: false``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin

from boss.errors import PROBLEM_JSON, ProblemBody
from boss.validation import BODY_TYPE_OPT

__all__ = (
    "DATABASE_UNAVAILABLE_DESCRIPTION",
    "FinishedJsonRenderPlugin",
    "finish_schema",
    "strict_body_names",
)

API_PREFIX = "/api/"
BODY_METHODS = frozenset({"post", "put", "patch"})
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_STANDARD = {
    400: "Validation failed: `errors[]` names every invalid field (problem JSON)",
    401: "Missing or invalid API key",
    403: "The key's role may not do this",
    404: "Not found",
    413: "The request body is larger than 1 MiB",
    415: "The body is not JSON (`Content-Type: application/json`)",
    429: "Rate limited: retry after `Retry-After` seconds",
    503: "A dependency is unavailable (`/problems/database-unavailable`, "
    "`/problems/unavailable`); retry after `Retry-After` seconds",
}
DATABASE_UNAVAILABLE_DESCRIPTION = (
    "The database is unavailable (`/problems/database-unavailable`): nothing was "
    "half-written; retry after `Retry-After` seconds"
)
"""How operations that read or write the database describe their 503 (``Retry-After`` is
added to every ``/api`` 503 by ``finish_schema``)."""
_INT_HEADER = {"schema": {"type": "integer", "minimum": 0}}
RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {**_INT_HEADER, "description": "Requests allowed per window"},
    "RateLimit-Remaining": {**_INT_HEADER, "description": "Requests left in this window"},
    "RateLimit-Reset": {**_INT_HEADER, "description": "Seconds until the window resets"},
}
RETRY_AFTER = {"Retry-After": {**_INT_HEADER, "description": "Seconds to wait before retrying"}}


def _problem_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [ProblemBody], ref_template="#/components/schemas/{name}"
    )
    problem = components.pop("ProblemBody")
    problem["additionalProperties"] = True  # kinds add their own members (current_version…)
    problem["title"] = "Problem"
    return {"Problem": problem, **components}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _name_enums(node: Any, named: Mapping[frozenset[str], str]) -> Any:
    """Replace inline string enums that equal a named one by a ``$ref``, recursively."""
    if isinstance(node, list):
        return [_name_enums(item, named) for item in node]
    if not isinstance(node, dict):
        return node
    values = node.get("enum")
    if isinstance(values, list) and all(isinstance(v, str) for v in values):
        name = named.get(frozenset(values))
        if name is not None:
            rest = {k: v for k, v in node.items() if k not in ("enum", "type")}
            return {"$ref": f"#/components/schemas/{name}", **rest}
    return {key: _name_enums(value, named) for key, value in node.items()}


def _plain_parameter(parameter: dict[str, Any]) -> None:
    """A query/path/header value is never JSON ``null``: drop Litestar's ``oneOf [X, null]``."""
    schema = parameter.get("schema", {})
    options = schema.get("oneOf")
    if not isinstance(options, list):
        return
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) != 1:
        return
    rest = {k: v for k, v in schema.items() if k != "oneOf"}
    plain = {**kept[0]}
    if plain.get("type") == "array":
        lengths = {k: rest.pop(k) for k in ("minLength", "maxLength") if k in rest}
        plain["items"] = {**plain.get("items", {}), **lengths}
    parameter["schema"] = {**plain, **rest}


def _finish_operation(path: str, operation: dict[str, Any], *, rate_limited: bool) -> None:
    api = path.startswith(API_PREFIX)
    for parameter in operation.get("parameters", ()):
        _plain_parameter(parameter)
    if not api:
        operation["security"] = []
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted: set[int] = set()
    if operation.get("parameters") or operation.get("requestBody"):
        wanted.add(400)
    if "{" in path:
        wanted.add(404)
    if operation.get("requestBody"):
        wanted.update((413, 415))
    if api:
        wanted.update((401, 403, 503))
        if rate_limited:
            wanted.add(429)
    for wanted_code in sorted(wanted):
        responses.setdefault(str(wanted_code), {"description": _STANDARD[wanted_code]})
    success_headers: dict[str, Any] = {}
    for code, response in responses.items():
        if code.isdigit() and 200 <= int(code) < 300:
            success_headers.update(response.get("headers", {}))
    for code, response in list(responses.items()):
        if not code.isdigit():
            continue
        status = int(code)
        if status >= 400 and not (path.startswith("/health") and status == 503):
            headers = response.get("headers", {})
            responses[code] = {**_problem_response(response.get("description") or code)}
            if headers:
                responses[code]["headers"] = headers
        if status == 429:
            responses[code]["headers"] = {**RETRY_AFTER, **RATE_LIMIT_HEADERS}
        if status in (409, 412) and "ETag" in success_headers:
            responses[code].setdefault("headers", {})["ETag"] = success_headers["ETag"]
        if status == 503 and api:
            responses[code].setdefault("headers", {}).update(RETRY_AFTER)
        if api and rate_limited and status < 400:
            responses[code].setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
    if path.startswith("/health") and "200" in responses and "503" not in responses:
        responses["503"] = {**copy.deepcopy(responses["200"]), "description": "Failing"}


def finish_schema(
    schema: dict[str, Any],
    *,
    named_enums: Mapping[str, tuple[str, ...]] | None = None,
    rate_limited: bool = True,
    closed_bodies: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A completed copy of a Litestar-generated OpenAPI document (see the module docstring)."""
    out = copy.deepcopy(schema)
    components = out.setdefault("components", {}).setdefault("schemas", {})
    components.pop("ProblemBody", None)  # Litestar's copy; every problem answer is rewritten
    components.update(_problem_components())
    for path, item in out.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                _finish_operation(path, item[method], rate_limited=rate_limited)
    if named_enums:
        by_values = {frozenset(values): name for name, values in named_enums.items()}
        out["paths"] = _name_enums(out.get("paths", {}), by_values)
        for name in list(components):
            components[name] = _name_enums(components[name], by_values)
        for name, values in named_enums.items():
            components[name] = {"type": "string", "enum": list(values)}
    for name in closed_bodies:
        if name in components:
            components[name]["additionalProperties"] = False
    out["components"]["schemas"] = dict(sorted(components.items()))
    return out


def strict_body_names(app: Litestar) -> frozenset[str]:
    """Component names of the request bodies ``strict_request`` checks (unknown fields: 400)."""
    names: set[str] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            body = handler.opt.get(BODY_TYPE_OPT)
            if isinstance(body, type):
                names.add(body.__name__)
    return frozenset(names)


class FinishedJsonRenderPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json`` as ``finish_schema`` completes it (computed once)."""

    def __init__(
        self, *, named_enums: Mapping[str, tuple[str, ...]] | None = None, rate_limited: bool
    ) -> None:
        super().__init__()
        self._named_enums = dict(named_enums or {})
        self._rate_limited = rate_limited
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The finished document as JSON."""
        if self._rendered is None:
            finished = finish_schema(
                openapi_schema,
                named_enums=self._named_enums,
                rate_limited=self._rate_limited,
                closed_bodies=strict_body_names(request.app),
            )
            self._rendered = super().render(request, finished)
        return self._rendered
