"""boss plugin: natural-language task intake.

``POST /api/ai/parse`` turns free text into a task draft; ``POST /api/ai/tasks`` creates the
task through the tasks plugin. Drafts come from an OpenAI-compatible chat-completions API or,
by default, from deterministic offline rules.
"""

from __future__ import annotations

from boss_ai.draft import LLMAnswer, ParseRequest, TaskDraft
from boss_ai.errors import ProviderError
from boss_ai.offline import OfflineProvider, parse_text
from boss_ai.openai_compat import OpenAICompatibleProvider
from boss_ai.plugin import AIPlugin, AITaskResult
from boss_ai.provider import Provider, build_provider
from boss_ai.settings import AISettings

__all__ = (
    "AIPlugin",
    "AISettings",
    "AITaskResult",
    "LLMAnswer",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "ParseRequest",
    "Provider",
    "ProviderError",
    "TaskDraft",
    "build_provider",
    "parse_text",
)
