"""The OpenAI-compatible provider against a real chat-completions server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import anyio.lowlevel
import httpx
import pytest
from boss_ai import OpenAICompatibleProvider, ProviderError
from boss_ai.openai_compat import retry_after_seconds

from tests.fakes.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
KEY = "sk-test-secret-key-123456"
GOOD = {
    "title": "Fix the login bug",
    "description": "",
    "assignee": "Ana",
    "priority": "urgent",
    "deadline": "2026-11-27",
    "confidence": 0.92,
}


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as server:
        yield server


class RecordingSleep:
    """Records the waits the provider asks for, without spending them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.lowlevel.checkpoint()


def provider(client: httpx.AsyncClient, llm: OpenAIServer, sleep: RecordingSleep, **kwargs):
    options = {
        "base_url": llm.base_url,
        "model": "test-model",
        "api_key": KEY,
        "timeout": 5.0,
        "retries": 2,
        "backoff_base": 0.25,
        "max_retry_wait": 10.0,
        "sleep": sleep,
        **kwargs,
    }
    return OpenAICompatibleProvider(client, **options)


async def draft(llm: OpenAIServer, sleep: RecordingSleep | None = None, **kwargs):
    async with httpx.AsyncClient() as client:
        return await provider(client, llm, sleep or RecordingSleep(), **kwargs).draft(
            "Ana: fix the login bug by Friday, urgent", now=NOW
        )


async def failure(
    llm: OpenAIServer, sleep: RecordingSleep | None = None, **kwargs
) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await draft(llm, sleep, **kwargs)
    return info.value


async def test_success_asks_for_json_and_validates_it(llm):
    llm.script(Reply.content_of(GOOD))
    result = await draft(llm)
    assert result.title == "Fix the login bug"
    assert result.assignee == "Ana"
    assert result.priority == "urgent"
    assert result.deadline == datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    assert result.confidence == 0.92
    assert result.provider == "openai"
    (request,) = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "test-model"
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert "Thursday 2026-11-26" in system["content"]
    assert user == {"role": "user", "content": "Ana: fix the login bug by Friday, urgent"}


async def test_datetime_deadlines_and_fenced_json_are_accepted(llm):
    answer = {**GOOD, "deadline": "2026-11-27T17:00:00+02:00", "assignee": None}
    llm.script(Reply(content="```json\n" + __import__("json").dumps(answer) + "\n```"))
    result = await draft(llm)
    assert result.deadline == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert result.assignee is None


async def test_invalid_json_is_a_bad_answer(llm):
    llm.script(Reply(content="Sure! The task is: fix the login bug"))
    error = await failure(llm)
    assert (error.kind, error.status_code) == ("bad_answer", 502)
    assert error.detail == "the AI provider's answer is not valid JSON"


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({**GOOD, "priority": "whenever"}, "$.priority"),
        ({k: v for k, v in GOOD.items() if k != "title"}, "title"),
        ({**GOOD, "confidence": 7}, "$.confidence"),
        ({**GOOD, "title": ""}, "$.title"),
        ({**GOOD, "assignee": 42}, "$.assignee"),
        ([GOOD], "object"),
    ],
)
async def test_schema_violations_are_bad_answers(llm, answer, named):
    llm.script(Reply.content_of(answer))
    error = await failure(llm)
    assert error.kind == "bad_answer"
    assert "does not match the task draft schema" in error.detail
    assert named in error.detail


async def test_unparseable_deadline_is_a_bad_answer(llm):
    llm.script(Reply.content_of({**GOOD, "deadline": "next Friday"}))
    error = await failure(llm)
    assert error.kind == "bad_answer"
    assert "deadline" in error.detail


async def test_not_a_completion_is_a_bad_answer(llm):
    llm.script(Reply(raw=b'{"object": "list"}'), Reply(raw=b"<html>proxy error</html>"))
    assert (await failure(llm)).detail == "the AI provider's response is not a chat completion"
    assert (await failure(llm)).detail == "the AI provider's response is not a chat completion"


async def test_429_with_retry_after_is_honoured_then_succeeds(llm):
    llm.script(Reply.error(429, headers={"Retry-After": "1"}), Reply.content_of(GOOD))
    sleep = RecordingSleep()
    result = await draft(llm, sleep)
    assert result.title == "Fix the login bug"
    assert sleep.waits == [1.0]
    assert len(llm.requests) == 2


async def test_retry_after_ms_wins_over_retry_after(llm):
    llm.script(
        Reply.error(429, headers={"Retry-After": "2", "retry-after-ms": "150"}),
        Reply.content_of(GOOD),
    )
    sleep = RecordingSleep()
    await draft(llm, sleep)
    assert sleep.waits == [0.15]


async def test_429_exhausted_is_unavailable(llm):
    llm.script(*[Reply.error(429, headers={"Retry-After": "0"})] * 5)
    error = await failure(llm)
    assert (error.kind, error.status_code) == ("unavailable", 503)
    assert "rate limited" in error.detail
    assert len(llm.requests) == 3


async def test_retry_after_beyond_the_cap_fails_at_once(llm):
    llm.script(Reply.error(429, headers={"Retry-After": "120"}))
    sleep = RecordingSleep()
    error = await failure(llm, sleep)
    assert error.kind == "unavailable"
    assert "retry after 120 s" in error.detail
    assert sleep.waits == []
    assert len(llm.requests) == 1


async def test_500_is_retried_with_backoff_then_succeeds(llm):
    llm.script(Reply.error(500), Reply.error(503), Reply.content_of(GOOD))
    sleep = RecordingSleep()
    result = await draft(llm, sleep)
    assert result.priority == "urgent"
    assert sleep.waits == [0.25, 0.5]


async def test_500_every_time_is_unavailable(llm):
    llm.script(*[Reply.error(500)] * 5)
    error = await failure(llm)
    assert (error.kind, error.status_code) == ("unavailable", 503)
    assert "HTTP 500" in error.detail
    assert len(llm.requests) == 3


async def test_timeout_is_504_and_not_retried(llm):
    llm.script(Reply.slow(5.0, GOOD))
    error = await failure(llm, timeout=0.2)
    assert (error.kind, error.status_code) == ("timeout", 504)
    assert "0.2 s" in error.detail
    assert len(llm.requests) == 1


async def test_wrong_key_is_a_bad_answer_without_the_key(llm):
    error = await failure(llm, api_key="sk-wrong-secret-key-999")
    assert (error.kind, error.status_code) == ("bad_answer", 502)
    assert "HTTP 401" in error.detail
    assert "secret" not in error.detail


async def test_unreachable_provider_is_unavailable():
    with OpenAIServer() as server:
        stopped = server.base_url  # nothing listens here once the server stops
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        unreachable = OpenAICompatibleProvider(client, base_url=stopped, model="m", sleep=sleep)
        with pytest.raises(ProviderError) as info:
            await unreachable.draft("x", now=NOW)
    assert info.value.kind == "unavailable"
    assert "cannot reach" in info.value.detail
    assert len(sleep.waits) == 2


def test_retry_after_forms():
    assert retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert (
        retry_after_seconds(httpx.Headers({"retry-after": "Thu, 26 Nov 2026 10:30:05 GMT"}), NOW)
        == 5.0
    )
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None
