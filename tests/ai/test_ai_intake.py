"""Issue #15's cases one by one: the issue's table, time zones, text kept, names, settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from boss_ai import AIPlugin, parse_text
from boss_ai.people import People
from boss_tasks import TasksPlugin
from litestar.testing import AsyncTestClient

from boss.app import create_app
from boss.settings import SettingsError, load_settings
from tests.conftest import MEMBER
from tests.fakes.openai_server import OpenAIServer, Reply

WEDNESDAY = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "title", "assignee", "deadline"),
    [
        (
            "high priority: Carla should review PR 42 tomorrow 3pm",
            "Review PR 42",
            "Carla",
            datetime(2026, 12, 3, 15, 0, tzinfo=UTC),
        ),
        (
            "Assign to Erin: migrate the billing DB by Dec 4.",
            "Migrate the billing DB",
            "Erin",
            datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC),
        ),
        (
            "Heidi and Ivan: prepare the demo for the 4th of December",
            "Prepare the demo",
            "Heidi",
            datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC),
        ),
        (
            "Deploy on December 4th 2027",
            "Deploy",
            None,
            datetime(2027, 12, 4, 23, 59, 59, tzinfo=UTC),
        ),
        (
            "Ana: fix bug by Friday. <script>alert(1)</script>",
            "Fix bug",
            "Ana",
            datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_the_issues_table(text, title, assignee, deadline):
    draft = parse_text(text, WEDNESDAY)
    assert (draft.title, draft.assignee, draft.deadline) == (title, assignee, deadline)


def test_markup_is_kept_as_text_in_the_description():
    draft = parse_text("Ana: fix bug by Friday. <script>alert(1)</script>", WEDNESDAY)
    assert draft.description == "<script>alert(1)</script>"


def test_a_second_person_is_mentioned_in_the_description():
    draft = parse_text("Heidi and Ivan: prepare the demo for the 4th of December", WEDNESDAY)
    assert draft.description == "Also involves Ivan."


@pytest.mark.parametrize(
    ("text", "priority"),
    [("p0 db down", "urgent"), ("P1 fix it", "high"), ("p2 tidy", "medium"), ("p3 x", "low")],
)
def test_p_levels(text, priority):
    assert parse_text(text, WEDNESDAY).priority == priority


def test_the_team_zone_reads_times_and_stores_utc():
    draft = parse_text("Carla should review PR 42 tomorrow 3pm", WEDNESDAY, BERLIN)
    assert draft.deadline == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert draft.timezone == "Europe/Berlin"
    by_friday = parse_text("fix bug by Friday", WEDNESDAY, BERLIN)
    assert by_friday.deadline == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)


def test_today_is_the_teams_today():
    """23:30 UTC on Wednesday is already Thursday in Tokyo: "tomorrow" is Friday there."""
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    draft = parse_text("renew the cert tomorrow", late, ZoneInfo("Asia/Tokyo"))
    assert draft.deadline is not None
    assert draft.deadline.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat() == "2026-12-04"


def test_numeric_dates_are_month_first_and_years_respected():
    assert parse_text("renew by 12/04", WEDNESDAY).deadline == datetime(
        2026, 12, 4, 23, 59, 59, tzinfo=UTC
    )
    assert parse_text("renew by 1/15", WEDNESDAY).deadline == datetime(
        2027, 1, 15, 23, 59, 59, tzinfo=UTC
    )


def test_a_long_message_loses_nothing():
    words = " ".join(f"word{i}" for i in range(300))
    text = f"Ana: {words}. Second sentence stays."
    draft = parse_text(text, WEDNESDAY)
    assert len(draft.title) <= 200
    assert draft.title.endswith("\u2026")
    assert draft.description.startswith("\u2026")
    rebuilt = (draft.title[:-1] + " " + draft.description[1:]).lower()
    for i in range(300):
        assert f"word{i}" in rebuilt
    assert draft.description.endswith("Second sentence stays.")


@pytest.mark.parametrize(
    "text",
    [
        "Deploy to staging asap",
        "Review the Kubernetes upgrade plan tomorrow",
        "Reminder: submit expense reports by the 31st",
        "Write a blog post for Medium",
        "Migrate to Postgres 16 by Dec 18",
    ],
)
def test_capitalised_words_that_are_no_people(text):
    assert parse_text(text, WEDNESDAY).assignee is None


def test_known_assignees_narrow_weak_contexts_and_fix_spelling():
    people = People(["Carla", "Bob"])
    assert parse_text("Send the report for Acme", WEDNESDAY, UTC, people).assignee is None
    assert parse_text("Send the report for Carla", WEDNESDAY, UTC, people).assignee == "Carla"
    assert parse_text("bob: send the report", WEDNESDAY, UTC, people).assignee == "Bob"
    assert parse_text("Send the report for Acme", WEDNESDAY).assignee == "Acme"


# -- settings and the API ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "../etc/passwd", "europe/berlin"])
def test_an_unknown_team_zone_names_the_variable(tmp_path, name):
    env = {"BOSS_DATA_DIR": str(tmp_path), "BOSS_AI__TIMEZONE": name}
    with pytest.raises(SettingsError) as info:
        create_app(load_settings(env), plugins=[TasksPlugin(), AIPlugin()])
    assert "BOSS_AI__TIMEZONE" in str(info.value)
    assert repr(name) in str(info.value)


@pytest.mark.anyio
async def test_parse_takes_timezone_and_now(base_env):
    app = create_app(load_settings(base_env), plugins=[TasksPlugin(), AIPlugin()])
    async with AsyncTestClient(app) as client:
        good = await client.post(
            "/api/ai/parse",
            json={
                "text": "Carla should review PR 42 tomorrow 3pm",
                "timezone": "America/New_York",
                "now": "2026-12-02T10:30:00Z",
            },
            headers=MEMBER,
        )
        bad_zone = await client.post(
            "/api/ai/parse", json={"text": "x", "timezone": "Nowhere/City"}, headers=MEMBER
        )
        bad_now = await client.post(
            "/api/ai/parse", json={"text": "x", "now": "yesterday-ish"}, headers=MEMBER
        )
    assert good.status_code == 200, good.text
    assert good.json()["deadline"] == "2026-12-03T20:00:00Z"
    assert good.json()["timezone"] == "America/New_York"
    assert bad_zone.status_code == 400
    assert "timezone" in bad_zone.text
    assert "Nowhere/City" in bad_zone.text
    assert bad_now.status_code == 400
    assert "now" in bad_now.text


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.mark.anyio
@pytest.mark.parametrize(("setting", "sent"), [(None, None), ("0.2", 0.2), ("0", 0.0)])
async def test_temperature_is_sent_only_when_configured(base_env, llm, setting, sent):
    env = {
        **base_env,
        "BOSS_AI__PROVIDER": "openai",
        "BOSS_AI__BASE_URL": llm.base_url,
        "BOSS_AI__TIMEZONE": "Europe/Berlin",
    }
    if setting is not None:
        env["BOSS_AI__TEMPERATURE"] = setting
    llm.script(Reply.content_of({"title": "Fix it", "deadline": "2026-12-04", "confidence": 1}))
    app = create_app(load_settings(env), plugins=[TasksPlugin(), AIPlugin()])
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/api/ai/parse",
            json={"text": "fix it by Friday", "now": "2026-12-02T10:30:00Z"},
            headers=MEMBER,
        )
    assert response.status_code == 200, response.text
    assert response.json()["deadline"] == "2026-12-04T22:59:59Z"
    (request,) = llm.requests
    assert request.body.get("temperature") == sent
    assert ("temperature" in request.body) is (setting is not None)
    assert "Europe/Berlin" in request.body["messages"][0]["content"]


@pytest.mark.anyio
async def test_the_tasks_known_assignees_reach_the_offline_parser(base_env):
    env = {**base_env, "BOSS_TASKS__KNOWN_ASSIGNEES": "Carla,Bob"}
    app = create_app(load_settings(env), plugins=[TasksPlugin(), AIPlugin()])
    async with AsyncTestClient(app) as client:
        answers = [
            (await client.post("/api/ai/parse", json={"text": text}, headers=MEMBER)).json()[
                "assignee"
            ]
            for text in ("Send the report for Acme", "Send the report for Carla", "bob: deploy")
        ]
    assert answers == [None, "Carla", "Bob"]
