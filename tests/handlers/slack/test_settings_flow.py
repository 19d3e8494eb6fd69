"""`/salesbridge settings` on Slack, end to end: a workspace admin (users.info says so)
changes who the PMs are and where triage goes; the change is recorded, announced in the
triage channel and in effect at once, for that workspace only. A non-admin's forged form and
a channel the bot is not in change nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import CHANNEL_REFUSAL, NOT_ADMIN, ChannelState
from bot.types import UserRef
from bot.workspace import Workspace
from tests.fakes import FakeSlack, payload_body, slash_body
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually

ADMIN = "U0ADMIN"
NEW_PM = "U0NEWPM"
NEW_TRIAGE = "C0NEWTRIAGE"
TEAM = Workspace("slack", None, "T0TEAM")


@pytest.fixture
async def slack(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    fake_slack.users[ADMIN] = {"is_admin": True}
    fake_slack.channels[NEW_TRIAGE] = {"is_member": True}
    fake_slack.channels["C0NOTIN"] = {"is_member": False}
    fake_slack.channels["C0OLD"] = {"is_member": True, "is_archived": True}
    async with slack_server(db_url, fake_slack) as driver:
        yield driver


def command_body(
    command: str, text: str = "", *, user: str, team: str = "T0TEAM", response_url: str = ""
) -> str:
    return slash_body(command, text, user=user, team=team, response_url=response_url)


def filled(view: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Slack's view.state.values for the settings modal: each input as shown, or as given."""
    out: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el, bid = block["element"], block["block_id"]
        given = values.get(bid)
        if el["type"] == "multi_users_select":
            got: dict[str, Any] = {"selected_users": given or el.get("initial_users", [])}
        elif el["type"] == "conversations_select":
            got = {"selected_conversation": given or el.get("initial_conversation")}
        else:
            got = {"value": given if given is not None else el.get("initial_value")}
        out[bid] = {el["action_id"]: {"type": el["type"], **got}}
    return {"values": out}


def submitted(
    view: dict[str, Any],
    *,
    user: str,
    team: str = "T0TEAM",
    extra: dict[str, Any] | None = None,
    **values: Any,
) -> str:
    state = filled(view, **values)
    state["values"].update(extra or {})
    return payload_body(
        {
            "type": "view_submission",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": "someone", "team_id": team},
            "api_app_id": "A0APP",
            "trigger_id": "123.456.abc",
            "view": {
                "id": "V0SETTINGS",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view.get("private_metadata", ""),
                "hash": "h1",
                "state": state,
            },
        }
    )


async def open_settings(slack: SlackDriver, user: str = ADMIN) -> dict[str, Any]:
    answer = await slack.post(command_body("/salesbridge", "settings", user=user))
    assert answer.status == 200
    view: dict[str, Any] = as_json(calls(slack, "views.open")[-1].body["view"])
    assert view["callback_id"] == "settings.save"
    return view


async def stored(slack: SlackDriver, table: str) -> list[Any]:
    async with slack.services.engine.connect() as conn:
        return list(await conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")))


async def test_an_admin_changes_pms_and_triage_recorded_announced_and_in_effect(
    slack: SlackDriver,
) -> None:
    # Before: the environment's PMs, nothing stored.
    view = await open_settings(slack)
    pms = next(b for b in view["blocks"] if b.get("block_id") == "product_managers")
    assert sorted(pms["element"]["initial_users"]) == sorted(PMS)
    triage = next(b for b in view["blocks"] if b.get("block_id") == "triage_channel")
    assert triage["element"]["initial_conversation"] == TRIAGE

    answer = await slack.post(
        submitted(view, user=ADMIN, product_managers=[NEW_PM], triage_channel=NEW_TRIAGE)
    )
    assert answer.status == 200 and answer.json["response_action"] == "update"
    assert "Settings saved" in json.dumps(answer.json["view"])

    # Recorded: who, when, from what, to what.
    log = await slack.services.workspace_settings.store.changes(TEAM)
    changes = {c.key: c for c in log}
    assert set(changes) == {"product_managers", "triage_channel"}
    pm_change = changes["product_managers"]
    assert (pm_change.by, pm_change.via) == (UserRef("slack", ADMIN), "slack")
    assert (pm_change.old, pm_change.new) == (sorted(PMS), [NEW_PM])
    assert (changes["triage_channel"].old, changes["triage_channel"].new) == (TRIAGE, NEW_TRIAGE)
    assert pm_change.at.tzinfo is not None
    [row] = await stored(slack, "workspace_settings")
    assert (row.platform, row.enterprise_id, row.team_id, row.version) == ("slack", "", "T0TEAM", 1)

    # Announced in the (new) triage channel.
    await eventually(
        lambda: any(c.body.get("channel") == NEW_TRIAGE for c in calls(slack, "chat.postMessage"))
    )
    post = next(c for c in calls(slack, "chat.postMessage") if c.body.get("channel") == NEW_TRIAGE)
    text = json.dumps(post.body)
    assert "Settings changed" in text and ADMIN in text and NEW_PM in text

    # In effect at once: the new PM logs briefings, an old one no longer may.
    await slack.post(command_body("/briefing", user=NEW_PM, response_url=slack.fake.response_url()))
    assert calls(slack, "views.open")[-1].body["view"]  # the briefing form opened
    opened = len(calls(slack, "views.open"))
    await slack.post(command_body("/briefing", user=PMS[0], response_url=slack.fake.response_url()))
    assert len(calls(slack, "views.open")) == opened  # refused: no form

    # Another workspace on the same deployment still has the environment's settings.
    other = await slack.post(
        command_body(
            "/briefing", user=NEW_PM, team="T0OTHER", response_url=slack.fake.response_url()
        )
    )
    assert other.status == 200 and len(calls(slack, "views.open")) == opened
    await slack.post(command_body("/briefing", user=PMS[0], team="T0OTHER"))
    assert len(calls(slack, "views.open")) == opened + 1  # an env PM there


async def test_a_non_admins_forged_form_changes_nothing_and_is_logged(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    view = await open_settings(slack)  # an admin's form, replayed by someone else
    refused = await slack.post(command_body("/salesbridge", "settings", user="U0SALES1"))
    assert refused.status == 200 and NOT_ADMIN in refused.body  # no form for them
    with caplog.at_level(logging.WARNING):
        answer = await slack.post(
            submitted(
                view,
                user="U0SALES1",
                product_managers=["U0SALES1"],
                extra={"margin_pct": {"m": {"type": "plain_text_input", "value": "61"}}},
            )
        )
    assert answer.json["response_action"] == "errors"
    assert NOT_ADMIN in json.dumps(answer.json)
    assert await stored(slack, "workspace_settings") == []
    assert await stored(slack, "setting_change") == []
    records = [r for r in caplog.records if "settings change refused" in r.getMessage()]
    assert records and records[-1].user == "U0SALES1"  # type: ignore[attr-defined]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    fields = records[-1].fields  # type: ignore[attr-defined]
    assert "product_managers" in fields and "margin_pct" not in fields  # names, not values
    assert "margin_pct" not in logged and "61" not in str(fields)


@pytest.mark.parametrize(
    ("channel", "state"),
    [
        ("C0NOTIN", ChannelState.NOT_MEMBER),
        ("C0GONE", ChannelState.NOT_FOUND),
        ("C0OLD", ChannelState.ARCHIVED),
    ],
)
async def test_a_channel_the_bot_cannot_post_to_is_refused_with_the_reason(
    slack: SlackDriver, channel: str, state: ChannelState
) -> None:
    view = await open_settings(slack)
    answer = await slack.post(submitted(view, user=ADMIN, triage_channel=channel))
    assert answer.json == {
        "response_action": "errors",
        "errors": {"triage_channel": CHANNEL_REFUSAL[state]},
    }
    assert await stored(slack, "workspace_settings") == []
    info = [c for c in calls(slack, "conversations.info") if c.body.get("channel") == channel]
    assert info  # asked Slack, not guessed
