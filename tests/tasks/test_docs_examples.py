"""The curl examples of docs/tasks.md run as written against a real server, and each prints
exactly the text block that follows it in the docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"
BLOCK_RE = re.compile(r"```sh\n(.*?)```\s*```text\n(.*?)```", re.DOTALL)
MARKER = "----- next example -----"


def examples() -> list[tuple[str, str]]:
    """``(script, expected output)`` pairs of the doc's Examples section."""
    text = DOC.read_text()
    section = text[text.index("### Examples") :]
    section = section[: section.find("\n## ")] if "\n## " in section else section
    found = BLOCK_RE.findall(section)
    assert len(found) >= 5, "the Examples section lost its examples"
    return found


async def test_docs_examples_run_as_written(served: tuple[str, Any], tmp_path: Path) -> None:
    base, _ = served
    pairs = examples()
    script = f"\necho '{MARKER}'\n".join(code for code, _ in pairs)
    path = tmp_path / "examples.sh"
    path.write_text("set -euo pipefail\n" + script)
    result = await anyio.run_process(
        ["bash", str(path)],
        env={"BOSS": base, "KEY": ADMIN_KEY, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    stdout = result.stdout.decode()
    assert result.returncode == 0, stdout + result.stderr.decode()
    outputs = stdout.split(MARKER + "\n")
    assert len(outputs) == len(pairs), stdout
    for (code, expected), got in zip(pairs, outputs, strict=True):
        assert got.strip() == expected.strip(), (
            f"{code}\n--- expected ---\n{expected}\n--- got ---\n{got}"
        )


def test_every_problem_kind_has_a_docs_section() -> None:
    from boss.errors import PROBLEM_KINDS

    problems = (DOC.parent / "problems.md").read_text()
    headings = set(re.findall(r"^## `?([a-z-]+)`?$", problems, re.MULTILINE))
    assert headings == set(PROBLEM_KINDS)


async def test_every_problem_type_resolves_on_the_server(client: Any) -> None:
    from boss.errors import PROBLEM_KINDS

    for kind, found in PROBLEM_KINDS.items():
        response = await client.get(f"/problems/{kind}")
        assert response.status_code == 200, kind
        assert found.title in response.text
        for header in found.headers:  # e.g. Retry-After on rate-limited, database-unavailable
            assert header in response.text, (kind, header)
    missing = await client.get("/problems/no-such-kind")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"


async def test_problem_types_differ_by_kind(client: Any) -> None:
    from tests.tasks.helpers import ADMIN, create

    task = await create(client)
    url = f"/api/db/tasks/{task['id']}"
    answers = {
        "validation": await client.post("/api/db/tasks", json={}, headers=ADMIN),
        "unauthorized": await client.get("/api/db/tasks"),
        "not-found": await client.get("/api/db/tasks/TASK-999", headers=ADMIN),
        "version-conflict": await client.patch(
            url, json={"title": "x", "version": 9}, headers=ADMIN
        ),
        "invalid-transition": await client.post(
            f"{url}/status", json={"status": "completed"}, headers=ADMIN
        ),
        "precondition-failed": await client.delete(url, headers={**ADMIN, "If-Match": '"9"'}),
        "precondition-required": await client.patch(url, json={"title": "x"}, headers=ADMIN),
        "unsupported-media-type": await client.post(
            "/api/db/tasks", content=b"{}", headers={**ADMIN, "Content-Type": "text/plain"}
        ),
        "method-not-allowed": await client.put("/api/db/tasks", headers=ADMIN),
    }
    first = {"Idempotency-Key": "k-1", **ADMIN}
    await client.post("/api/db/tasks", json={"title": "a"}, headers=first)
    answers["idempotency-key-reused"] = await client.post(
        "/api/db/tasks", json={"title": "b"}, headers=first
    )
    for kind, response in answers.items():
        assert response.headers["content-type"].startswith("application/problem+json"), kind
        assert response.json()["type"] == f"/problems/{kind}", (kind, response.text)
