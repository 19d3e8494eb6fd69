"""Clusters on every surface: the triage card's cluster line and its Merge all press on
Slack (driven as Slack drives it, through the server), Teams and the console (their cards
rendered from the same view, validated), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clusters import MERGE_ALL_LABEL
from bot.feedback import NOT_A_PM, Action, Decided
from bot.ids import ActionId
from bot.interactions import buttons_for
from bot.items import Status
from bot.types import UserRef
from handlers.console import render_text
from handlers.slack.blocks import triage_card
from handlers.teams.cards import VALUE, triage
from tests import validators
from tests.cluster_items import LINE, make_cluster
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import as_json, calls
from tests.handlers.slack.test_updates import drain


@pytest.fixture
async def s(db_url: str, engine: AsyncEngine, fake_slack: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with slack_server(db_url, fake_slack, worker=False) as driver:
        yield driver


def merge_all_button(body: dict[str, Any]) -> dict[str, Any]:
    return next(
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == ActionId.TRIAGE_MERGE_ALL
    )


async def test_merge_all_on_slack(s: SlackDriver) -> None:
    await make_cluster(s.services.feedback)
    await drain(s)
    card = next(
        c.body
        for c in calls(s, "chat.postMessage")
        if c.body["channel"] == TRIAGE and "#1 ·" in str(c.body)
    )
    assert LINE in str(as_json(card["blocks"]))
    button = merge_all_button(card)
    assert button["text"]["text"] == MERGE_ALL_LABEL and button["value"] == "1:2,3"
    triage_msg = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}
    # A sales rep's (forged) press changes nothing.
    await s.action(ActionId.TRIAGE_MERGE_ALL, "1:2,3", user="U0SALES1", container=triage_msg)
    assert s.fake.responses[-1]["text"] == NOT_A_PM
    for i in (2, 3):
        item = await s.services.feedback.get(i)
        assert item is not None and item.status is Status.NEW
    await s.action(ActionId.TRIAGE_MERGE_ALL, "1:2,3,4", user=PMS[0], container=triage_msg)
    said = s.fake.responses[-1]["text"]
    assert said.startswith("Merged #2, #3 into #1.")
    assert "Skipped: #4 is no longer an open item like this one." in said
    target = await s.services.feedback.get(1)
    assert target is not None and target.revenue == {"USD": 610_000}
    other = await s.services.feedback.get(4)
    assert other is not None and other.status is Status.NEW
    await drain(s)
    refreshed = [c.body for c in calls(s, "chat.update")]
    assert any("Initech ($90,000)" in str(b) and "Acme Corp" in str(b) for b in refreshed)
    # Pressed again: nothing more.
    await s.action(ActionId.TRIAGE_MERGE_ALL, "1:2,3", user=PMS[0], container=triage_msg)
    assert s.fake.responses[-1]["text"].startswith("Nothing was merged into #1.")
    again = await s.services.feedback.get(1)
    assert again == target


async def test_the_cluster_line_and_press_on_teams_and_the_console(s: SlackDriver) -> None:
    feedback = s.services.feedback
    first, *_ = await make_cluster(feedback, platform="teams")
    view = await feedback.triage_view(first)
    card = triage(view)
    validators.adaptive_card(card, "Teams triage card")
    assert LINE in str(card)
    pressed = [a for a in card["actions"] if a.get("title") == MERGE_ALL_LABEL]
    assert len(pressed) == 1
    assert pressed[0]["verb"] == ActionId.TRIAGE_MERGE_ALL and pressed[0]["data"][VALUE] == "1:2,3"
    text = render_text(view)
    assert LINE in text
    # The console lists the card's presses by number, as buttons_for gives them.
    assert [b.label for b in buttons_for(view)].count(MERGE_ALL_LABEL) == 1
    slack = triage_card(view)
    validators.slack_message(slack, "Slack triage card")
    # A closed item's card has no cluster line and no press.
    pm = UserRef("slack", PMS[0])
    decided = await feedback.decide(user=pm, item_id=1, action=Action.LATER)
    assert isinstance(decided, Decided)
    await feedback.decide(user=pm, item_id=1, action=Action.ACTIONED)
    closed = await feedback.triage_view(await feedback.get(1) or first)
    assert closed.cluster is None
    assert LINE not in render_text(closed) and MERGE_ALL_LABEL not in str(triage(closed))
