"""The OpenAI-compatible provider: one chat-completions call that must answer a JSON draft.

Works with every server that speaks ``POST {base_url}/chat/completions`` (OpenAI, DeepSeek,
Ollama, vLLM, llama.cpp). It asks for JSON output (``response_format: json_object``) and
validates the answer with msgspec against ``LLMAnswer``; anything else is a bad answer (502),
never a half-filled task. 429 and 5xx are retried with exponential backoff that honours
``Retry-After`` / ``retry-after-ms``; a timeout is final (504) because retrying it would only
multiply the caller's wait.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
import msgspec

from boss_ai.draft import LLMAnswer, Recognised, TaskDraft, parse_deadline
from boss_ai.errors import ProviderError

__all__ = ("SYSTEM_PROMPT", "OpenAICompatibleProvider", "retry_after_seconds")

SYSTEM_PROMPT = """\
You turn a team lead's short message into one task for a task tracker.
Answer with a single JSON object and nothing else, with exactly these keys:
  "title": short imperative summary, at most 200 characters (required, never empty)
  "description": extra details from the message, or "" (at most 5000 characters)
  "assignee": the person's name as written, or null when nobody is named
  "priority": one of "low", "medium", "high", "urgent" ("medium" unless the message says otherwise)
  "deadline": ISO 8601 date (YYYY-MM-DD) when only a day is named, or local date-time
              (YYYY-MM-DDTHH:MM) when a time is named; null when none is given
  "confidence": a number from 0 to 1, how sure you are of this reading
Resolve relative dates ("by Friday", "tomorrow 3pm", "next month", "end of week") against
the current local time and time zone given below; "next week" means that week's Friday,
"next month" the last day of next month, "EOD" the given day, "12/04" is month/day.
The title is the task without the assignee, priority words and date; put any further
sentences in the description. Do not invent an assignee or a deadline that the message
does not state."""

_CODE_RE = re.compile(r"^[a-z0-9_.-]{1,64}$")


class _Message(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice]


class _ErrorDetail(msgspec.Struct):
    code: str | int | None = None
    type: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | None = None


def retry_after_seconds(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """The wait a 429/503 asks for: ``retry-after-ms``, or ``Retry-After`` seconds or date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _error_code(response: httpx.Response) -> str:
    """A short, safe identifier from an error body (never the message: it may echo the key)."""
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    if body.error is None:
        return ""
    for candidate in (body.error.code, body.error.type):
        if candidate is not None and _CODE_RE.match(str(candidate)):
            return f" ({candidate})"
    return ""


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*", "", text)
        text = re.sub(r"\s*```$", "", text)
    return text


def decode_answer(raw: bytes, tz: tzinfo = UTC) -> TaskDraft:
    """Validate a chat-completions response body and turn its content into a draft.

    The answer's deadline is read in ``tz`` (a bare date is its end of day there)."""
    try:
        completion = msgspec.json.decode(raw, type=_Completion)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ProviderError(
            "bad_answer", "the AI provider's response is not a chat completion"
        ) from None
    if not completion.choices:
        raise ProviderError("bad_answer", "the AI provider answered no choices")
    choice = completion.choices[0]
    if choice.message.content is None:
        reason = "refused" if choice.message.refusal else "answered no content"
        raise ProviderError("bad_answer", f"the AI provider {reason}")
    if choice.finish_reason == "length":
        raise ProviderError("bad_answer", "the AI provider's answer was cut off (length limit)")
    content = _strip_fences(choice.message.content)
    try:
        answer = msgspec.json.decode(content, type=LLMAnswer)
    except msgspec.ValidationError as exc:
        raise ProviderError(
            "bad_answer", f"the AI provider's answer does not match the task draft schema: {exc}"
        ) from None
    except msgspec.DecodeError:
        raise ProviderError("bad_answer", "the AI provider's answer is not valid JSON") from None
    title = answer.title.strip()
    if not title:
        raise ProviderError("bad_answer", "the AI provider's answer has an empty title")
    assignee = (answer.assignee.strip() if answer.assignee else None) or None
    deadline = parse_deadline(answer.deadline, tz)
    return TaskDraft(
        title=title,
        description=answer.description.strip(),
        assignee=assignee,
        priority=answer.priority,
        deadline=deadline,
        confidence=answer.confidence,
        provider="openai",
        recognised=Recognised(
            title=True,
            assignee=assignee is not None,
            priority=answer.priority != "medium",
            deadline=deadline is not None,
        ),
        timezone=str(tz),
    )


class OpenAICompatibleProvider:
    """Calls a chat-completions endpoint; the ``httpx.AsyncClient`` belongs to the caller."""

    name = "openai"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 30.0,
        retries: int = 2,
        backoff_base: float = 0.5,
        max_retry_wait: float = 20.0,
        temperature: float | None = None,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._retries = retries
        self._backoff_base = backoff_base
        self._max_wait = max_retry_wait
        self._temperature = temperature
        self._sleep = sleep

    def describe(self) -> str:
        """Readiness detail (no URL: it may carry credentials)."""
        return f"openai-compatible provider, model {self._model}"

    def _request(self, text: str, now: datetime, tz: tzinfo) -> dict[str, Any]:
        local = now.astimezone(tz)
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [
                {
                    "role": "system",
                    "content": f"{SYSTEM_PROMPT}\nNow is {local:%A} {local:%Y-%m-%dT%H:%M} "
                    f"in the team's time zone {tz} (UTC offset {local:%z}).",
                },
                {"role": "user", "content": text},
            ],
            "response_format": {"type": "json_object"},
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        return body

    async def draft(self, text: str, *, now: datetime, tz: tzinfo = UTC) -> TaskDraft:
        """Ask the model for a draft of ``text``; raises ``ProviderError`` on any failure."""
        body = self._request(text, now, tz)
        failure = ProviderError("unavailable", "the AI provider is unavailable")
        for attempt in range(1, self._retries + 2):
            wait = self._backoff_base * 2 ** (attempt - 1)
            try:
                response = await self._client.post(
                    self._url, json=body, headers=self._headers, timeout=self._timeout
                )
            except httpx.TimeoutException:
                raise ProviderError(
                    "timeout", f"the AI provider did not answer within {self._timeout:g} s"
                ) from None
            except httpx.TransportError as exc:
                failure = ProviderError(
                    "unavailable", f"cannot reach the AI provider ({type(exc).__name__})"
                )
            else:
                status = response.status_code
                if response.is_success:
                    return decode_answer(response.content, tz)
                if status == 429 or status >= 500:
                    asked = retry_after_seconds(response.headers)
                    what = (
                        "rate limited the request" if status == 429 else f"answered HTTP {status}"
                    )
                    failure = ProviderError(
                        "unavailable",
                        f"the AI provider {what}{_error_code(response)} "
                        f"({attempt} attempt{'s' if attempt > 1 else ''})",
                    )
                    if asked is not None:
                        if asked > self._max_wait:
                            raise ProviderError(
                                "unavailable",
                                f"the AI provider {what} and asks to retry after {asked:g} s",
                            )
                        wait = asked
                else:
                    raise ProviderError(
                        "bad_answer",
                        f"the AI provider refused the request: HTTP {status}{_error_code(response)}",
                    )
            if attempt <= self._retries:
                await self._sleep(min(wait, self._max_wait))
        raise failure
