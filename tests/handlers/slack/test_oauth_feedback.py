"""Feedback with two workspaces installed through OAuth, driven as Slack drives it: a rep of
B sending the same ask as A's rep (the same user id) is not offered A's item as a duplicate,
each triage card is posted with its own workspace's token, and B's product manager pressing
a forged decision naming A's item id is told what an unknown id gets and changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.items import Status
from bot.workspace import Workspace
from tests.fakes import slash_body
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually, submission
from tests.handlers.slack.test_oauth import Browser, oauth

__all__ = ["oauth"]  # the fixture: two workspaces' server in OAuth mode, its worker running

SAML = "Needs SAML single sign-on before the renewal"
REP = "U0SALES1"  # the same user id in both workspaces


def _team(team: str, user: str) -> dict[str, Any]:
    return {"user": {"id": user, "username": "sam", "team_id": team}, "team": {"id": team}}


async def send_feedback(driver: SlackDriver, team: str) -> dict[str, Any]:
    """/feedback in `team`, then its form sent: the answer to the submission."""
    opened = len(calls(driver, "views.open"))
    body = slash_body(
        "/feedback", SAML, user=REP, team=team, response_url=driver.fake.response_url()
    )
    assert (await driver.post(body)).status == 200
    assert len(calls(driver, "views.open")) == opened + 1
    form = as_json(calls(driver, "views.open")[-1].body["view"])
    sent = submission(form, user=REP, product="WDG-PRO", kind="feature_request", client="Acme")
    return (await driver.interaction({**sent, **_team(team, REP)})).json


async def press(driver: SlackDriver, team: str, action: str, value: str) -> str | None:
    """A product manager of `team` pressing a triage button: what they are told privately
    (None when the card was refreshed instead)."""
    triage = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}
    payload = {
        "type": "block_actions",
        **_team(team, PMS[0]),
        "container": triage,
        "trigger_id": "123.456.abc",
        "channel": {"id": TRIAGE, "name": "triage"},
        "response_url": driver.fake.response_url(),
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": "b1",
                "value": value,
                "action_ts": "1700000000.000100",
            }
        ],
    }
    before = len(driver.fake.responses)
    assert (await driver.interaction(payload)).status == 200
    told = driver.fake.responses[before:]
    return str(told[-1].get("text")) if told and told[-1].get("response_type") else None


async def test_workspaces_do_not_see_or_decide_each_others_feedback(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    a = fake.install("code-a", team="T0AAA")
    b = fake.install("code-b", team="T0BBB")
    for code in ("code-a", "code-b"):
        assert (await browser.install(code))[0] == 200

    first = await send_feedback(driver, "T0AAA")
    assert first["response_action"] == "update" and "#1" in str(first["view"])
    await eventually(lambda: fake.tokens_used("chat.postMessage") == [a])  # A's card, A's token

    # B's rep, the same user id, sending the same ask: no duplicate offered, a new item.
    second = await send_feedback(driver, "T0BBB")
    assert second["response_action"] == "update"
    assert "duplicate_of" not in str(second["view"]) and "#2" in str(second["view"])
    await eventually(lambda: fake.tokens_used("chat.postMessage") == [a, b])
    card = str(as_json(calls(driver, "chat.postMessage")[-1].body["blocks"]))
    assert "Widget Pro" in card and "#1" not in card  # B's card names no item of A's

    # B's product manager forging a decision on A's item: what an unknown id gets.
    assert await press(driver, "T0BBB", "triage.now", "1") == "There is no feedback #1."
    assert await press(driver, "T0BBB", "triage.now", "999") == "There is no feedback #999."
    merge_all = await press(driver, "T0BBB", "triage.merge_all", "1:2")
    assert merge_all == "There is no feedback #1."
    with workspace.using(Workspace("slack", None, "T0AAA", isolated=True)):
        item = await driver.services.feedback.get(1)
        assert item is not None and item.status is Status.NEW and item.decided_by is None
    with workspace.using(Workspace("slack", None, "T0BBB", isolated=True)):
        assert await driver.services.feedback.get(1) is None
        mine = await driver.services.feedback.get(2)
        assert mine is not None and mine.status is Status.NEW
    assert len(calls(driver, "chat.update")) == 0  # no card was refreshed by the forgery

    # A's own product manager decides it, and A's card is updated with A's token.
    assert await press(driver, "T0AAA", "triage.now", "1") is None
    await eventually(lambda: fake.tokens_used("chat.update") == [a])
    with workspace.using(Workspace("slack", None, "T0AAA", isolated=True)):
        decided = await driver.services.feedback.get(1)
        assert decided is not None and decided.status is Status.NOW
