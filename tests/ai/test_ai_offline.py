"""The offline provider's rules: assignee, deadline, priority, title, description, confidence."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from boss_ai import OfflineProvider, parse_text
from boss_ai.draft import Recognised

# Thursday, 26 November 2026, mid-morning UTC
NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)


def day(draft) -> date | None:
    return draft.deadline.date() if draft.deadline else None


def test_the_canonical_sentence():
    draft = parse_text("Ana: fix the login bug by Friday, urgent", NOW)
    assert draft.title == "Fix the login bug"
    assert draft.assignee == "Ana"
    assert draft.priority == "urgent"
    assert draft.deadline == datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    assert draft.description == ""
    assert draft.confidence == 0.87
    assert draft.provider == "offline"
    assert draft.recognised == Recognised(title=True, assignee=True, priority=True, deadline=True)


@pytest.mark.parametrize(
    ("text", "title", "assignee", "priority", "deadline"),
    [
        ("@bob update the docs tomorrow", "Update the docs", "bob", "medium", date(2026, 11, 27)),
        (
            "renew the certificate for Carla by 2026-12-01, high priority",
            "Renew the certificate",
            "Carla",
            "high",
            date(2026, 12, 1),
        ),
        (
            "Ana Silva: review PR 42 in 3 days (low priority)",
            "Review PR 42",
            "Ana Silva",
            "low",
            date(2026, 11, 29),
        ),
        ("ship v2 by Dec 4", "Ship v2", None, "medium", date(2026, 12, 4)),
        (
            "order pizza for the team on 3rd of January",
            "Order pizza for the team",
            None,
            "medium",
            date(2027, 1, 3),
        ),
        ("clean the backlog next week", "Clean the backlog", None, "medium", date(2026, 12, 4)),
        ("write the report by next Friday", "Write the report", None, "medium", date(2026, 12, 4)),
        ("write the report by this Friday", "Write the report", None, "medium", date(2026, 11, 27)),
        (
            "Dana: book the venue next Monday",
            "Book the venue",
            "Dana",
            "medium",
            date(2026, 11, 30),
        ),
        (
            "Call the bank before end of month, p1",
            "Call the bank",
            None,
            "high",
            date(2026, 11, 30),
        ),
        ("Ana: prepare slides for Monday", "Prepare slides", "Ana", "medium", date(2026, 11, 30)),
        ("please deploy the hotfix ASAP", "Deploy the hotfix", None, "urgent", None),
        ("Bob: send invoices today!", "Send invoices", "Bob", "medium", date(2026, 11, 26)),
        (
            "assign to Dana: rotate the keys by thursday",
            "Rotate the keys",
            "Dana",
            "medium",
            date(2026, 11, 26),
        ),
    ],
)
def test_forms_a_lead_types(text, title, assignee, priority, deadline):
    draft = parse_text(text, NOW)
    assert (draft.title, draft.assignee, draft.priority, day(draft)) == (
        title,
        assignee,
        priority,
        deadline,
    )


def test_an_attributive_priority_word_sets_the_priority_and_stays_in_the_title():
    draft = parse_text("fix the critical login bug", NOW)
    assert draft.title == "Fix the critical login bug"
    assert draft.priority == "urgent"
    assert draft.recognised == Recognised(title=True, assignee=False, priority=True, deadline=False)


def test_a_label_is_not_an_assignee():
    draft = parse_text("Bug: login fails on Safari", NOW)
    assert draft.assignee is None
    assert draft.title == "Bug: login fails on Safari"


def test_more_sentences_become_the_description():
    draft = parse_text(
        "Ana: write the report by Friday. Include Q3 numbers.\nAnd the churn chart.", NOW
    )
    assert draft.title == "Write the report"
    assert draft.description == "Include Q3 numbers.\nAnd the churn chart."


def test_nothing_but_a_date_keeps_the_text_as_title():
    draft = parse_text("by friday", NOW)
    assert draft.title == "by friday"
    assert day(draft) == date(2026, 11, 27)
    assert draft.recognised is not None
    assert not draft.recognised.title
    assert draft.confidence < parse_text("Ana: write it by friday", NOW).confidence


def test_long_text_fits_the_task_limits():
    draft = parse_text("x" * 300 + " by friday", NOW)
    assert len(draft.title) == 200
    assert draft.title.endswith("…")


def test_impossible_dates_are_ignored():
    draft = parse_text("plan the party on Feb 31", NOW)
    assert draft.deadline is None
    assert draft.title == "Plan the party on Feb 31"


@pytest.mark.anyio
async def test_provider_interface():
    provider = OfflineProvider()
    draft = await provider.draft("Ana: fix the login bug by Friday, urgent", now=NOW)
    assert draft.assignee == "Ana"
    assert "offline" in provider.describe()


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_unknown_provider_names_the_variable(tmp_path):
    from boss_ai import AIPlugin
    from boss_tasks import TasksPlugin

    from boss.app import create_app
    from boss.settings import SettingsError, load_settings

    env = {"BOSS_DATA_DIR": str(tmp_path), "BOSS_AI__PROVIDER": "skynet"}
    with pytest.raises(SettingsError) as info:
        create_app(load_settings(env), plugins=[TasksPlugin(), AIPlugin()])
    assert "BOSS_AI__PROVIDER" in str(info.value)
    assert "skynet" in str(info.value)
