"""Slack presses through the neutral layer: Share, a note on any decision, acks that never
wait for Slack, and the message shortcut's form opening while its trigger is fresh."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.fakes import payload_body, sign, slash_body
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually, submit_feedback


async def test_share_posts_the_private_answer_for_everyone(slack: SlackDriver) -> None:
    private = (await slack.command("widget lite in oz")).json
    await slack.action("product.share", "WDG-LITE|AU")
    shared = slack.fake.responses[-1]
    assert shared["response_type"] == "in_channel"
    blocks = as_json(shared["blocks"])
    without_buttons = [b for b in private["blocks"] if b["type"] != "actions"]
    assert blocks[:-1] == without_buttons  # the same answer, freshness line included
    assert blocks[-1]["elements"][0]["text"] == "Shared by <@U0SALES1>"
    assert shared["text"] == private["text"]


async def test_any_decision_carries_the_note_typed_on_the_card(slack: SlackDriver) -> None:
    await submit_feedback(slack, "U0SALES1", "Acme Corp", "Needs SAML single sign-on please")
    await eventually(lambda: len(calls(slack, "chat.postMessage")) == 1)
    card = as_json(calls(slack, "chat.postMessage")[0].body["blocks"])
    note = next(b for b in card if b.get("block_id") == "note")
    assert note["type"] == "input" and note["optional"] is True
    payload = {
        "type": "block_actions",
        "user": {"id": PMS[0], "username": "pm", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "acme"},
        "api_app_id": "A0APP",
        "container": {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE},
        "channel": {"id": TRIAGE},
        "trigger_id": "123.456.abc",
        "response_url": slack.fake.response_url(),
        "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": "Q1 plan"}}}},
        "actions": [{"type": "button", "action_id": "triage.later", "value": "1"}],
    }
    assert (await slack.post(payload_body(payload))).status == 200

    def dm() -> list[dict[str, Any]]:
        return [c.body for c in calls(slack, "chat.postMessage") if c.body["channel"] == "U0SALES1"]

    await eventually(lambda: bool(dm()))
    assert "Product will act on it later. Note from product: Q1 plan" in dm()[0]["text"]


async def test_acks_never_wait_for_a_slow_slack(slack: SlackDriver) -> None:
    """With Slack's Web API and response_url hanging, every press (a refusal among them: the
    sales user pressing Act now), Share, the shortcut, /feedback and App Home are
    acknowledged first; what follows is done once Slack answers."""
    slack.fake.held = asyncio.Event()
    presses = [
        {
            "type": "block_actions",
            "user": {"id": "U0SALES1"},
            "trigger_id": "123.456.abc",
            "channel": {"id": "C0SALES"},
            "response_url": slack.fake.response_url(),
            "actions": [{"type": "button", "action_id": action, "value": value}],
        }
        for action, value in (("product.share", "WDG-LITE|AU"), ("triage.now", "1"))
    ]
    shortcut = {
        "type": "message_action",
        "callback_id": "feedback.from_message",
        "user": {"id": "U0SALES1"},
        "trigger_id": "123.456.abc",
        "response_url": slack.fake.response_url(),
        "channel": {"id": "C0SALES"},
        "message": {"type": "message", "ts": "1700000000.000200", "text": "Client says hi"},
    }
    home = {
        "type": "event_callback",
        "event_id": "EvSlow",
        "event": {"type": "app_home_opened", "user": "U0SALES1", "tab": "home"},
    }
    bodies = [(payload_body(p), "application/x-www-form-urlencoded") for p in [*presses, shortcut]]
    bodies.append((json.dumps(home), "application/json"))
    # /feedback: the form opens with views.open after the ack (the trigger is sent on at once).
    feedback = slash_body("/feedback", "Acme wants SSO", response_url=slack.fake.response_url())
    bodies.append((feedback, "application/x-www-form-urlencoded"))
    for body, kind in bodies:
        headers = {"Content-Type": kind, **sign(body)}
        async with (
            asyncio.timeout(10),  # an ack waiting for Slack would wait forever here
            slack.http.post(slack.base + "/slack/events", data=body, headers=headers) as r,
        ):
            assert r.status == 200  # answered while Slack still hangs
    assert slack.fake.responses == [] and not calls(slack, "views.open")
    slack.fake.held.set()
    await slack.services.background.idle()
    assert sorted(r["response_type"] for r in slack.fake.responses) == ["ephemeral", "in_channel"]
    assert len(calls(slack, "views.open")) == 2 and len(calls(slack, "views.publish")) == 1
