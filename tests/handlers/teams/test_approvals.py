"""Approval requests on Teams, activities posted to /api/messages: Request approval on a
Restricted answer (Action.Execute), the form card, the request in the triage channel (the
rule's contact is a Slack user this install cannot reach), refused and repeated presses,
the requester's DM, the approval in the next answer; and `coverage csv`."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp

from bot import payloads
from tests import validators
from tests.fakes import Posted
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver, start
from tests.handlers.teams.test_parity import DM, triage_channel, verbs
from tests.handlers.teams.test_teams import card_of, eventually

OTHER_AAD = "00000000-0000-0000-0000-0000000000c1"
APPROVALS = "19:approvals@thread.tacv2"


def approval_cards(teams: TeamsDriver) -> list[dict[str, Any]]:
    return [
        card_of(p.body)
        for p in teams.connector.messages(CHANNEL)
        if "approval.approve" in str(p.body)
    ]


async def request(teams: TeamsDriver, client: str = "Acme") -> None:
    await teams.say("product widget pro japan")
    answer = card_of(teams.connector.messages(DM)[-1].body)
    assert "approval.request" in verbs(answer)
    _, asked = await teams.execute("approval.request", {"value": "WDG-PRO|JP"})
    form = asked["value"]
    [submit] = form["actions"]
    assert submit["verb"] == "approval.submit"
    values = {"client": client, "deal_value": "90000", "currency": "GBP", "why": "Renewal"}
    _, done = await teams.execute("approval.submit", {**submit["data"], **values})
    assert "is with the approver" in str(done["value"])


async def test_request_decision_dm_and_the_approval_in_the_next_answer(teams: TeamsDriver) -> None:
    await triage_channel(teams)
    await request(teams)
    await eventually(lambda: len(approval_cards(teams)) == 1)
    [card] = approval_cards(teams)
    assert verbs(card) == ["approval.approve", "approval.decline", "approval.info"]
    assert "£90,000" in str(card["body"])

    _, refused = await teams.execute(
        "approval.approve", {"value": "1"}, user=OTHER_AAD, conversation_type="channel"
    )
    assert refused["value"].startswith("Only the person this request was sent to")
    _, done = await teams.execute(
        "approval.approve", {"value": "1"}, user=PM_AAD, conversation_type="channel"
    )
    assert "Approved: request #1 Widget Pro in Japan for Acme" in str(done["value"])
    _, twice = await teams.execute(
        "approval.info", {"value": "1", "note": "?"}, user=PM_AAD, conversation_type="channel"
    )
    assert "already decided: Approved by" in twice["value"]
    # With no channel set for approvals, the triage channel's card is the one updated.
    await eventually(lambda: len(updates(teams)) == 1)
    assert updates(teams)[0].path.startswith(f"/v3/conversations/{CHANNEL}/activities/")

    def told() -> list[Any]:
        return [p for p in teams.connector.messages(DM) if "approval request #1" in str(p.body)]

    await eventually(lambda: len(told()) == 1)
    assert f"Approved by {PM_AAD}, valid until" in told()[0].body["text"]
    await teams.say("product widget pro japan")
    answer = card_of(teams.connector.messages(DM)[-1].body)
    assert f"Approved for Acme by {PM_AAD} until" in str(answer["body"])
    assert "approval.request" not in verbs(answer)
    await teams.say("product my answers")
    mine = teams.connector.messages(DM)[-1].body
    assert "#1 Widget Pro in Japan for Acme: Approved, valid until" in str(mine)


async def test_need_more_info_asks_for_a_note_and_forged_data_changes_nothing(
    teams: TeamsDriver,
) -> None:
    await triage_channel(teams)
    await request(teams, client="Initech")
    await eventually(lambda: len(approval_cards(teams)) == 1)
    _, asked = await teams.execute(
        "approval.info", {"value": "1"}, user=PM_AAD, conversation_type="channel"
    )
    [submit] = asked["value"]["actions"]
    assert submit["verb"] == "approval.note"
    data = submit["data"]
    _, empty = await teams.execute("approval.note", {**data, "note": ""}, user=PM_AAD)
    assert "Add a note to the requester" in str(empty["value"])
    _, forged = await teams.execute("approval.note", {**data, "note": "x"}, user=SALES_AAD)
    assert "Only the person this request" in str(forged)
    forged_state = {**data["state"], "request": "77"}
    _, unknown = await teams.execute(
        "approval.note", {**data, "state": forged_state, "note": "x"}, user=PM_AAD
    )
    assert "There is no approval request #77" in str(unknown)
    approvals = teams.services.approvals
    assert approvals is not None
    current = await approvals.get(1)
    assert current is not None and current.status.value == "pending"
    _, done = await teams.execute(
        "approval.note", {**data, "note": "Which modules, and how many seats?"}, user=PM_AAD
    )
    assert "More information needed" in str(done["value"])

    def told() -> list[Any]:
        return [p for p in teams.connector.messages(DM) if "approval request #1" in str(p.body)]

    await eventually(lambda: len(told()) == 1)
    assert "needs more information" in told()[0].body["text"]
    assert "Which modules, and how many seats?" in told()[0].body["text"]


async def test_coverage_csv_in_the_card_for_its_audience_only(teams: TeamsDriver) -> None:
    await teams.say("coverage csv")
    refused = teams.connector.messages(DM)[-1].body
    assert "Coverage reports are for product managers" in refused["text"]
    await teams.say("coverage csv this quarter", user=PM_AAD)
    reply = teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body
    card = card_of(reply)
    assert "as CSV" in reply["text"]
    # no link configured: inline
    assert "region_code,region,parent_code,briefings" in str(card["body"])


def updates(teams: TeamsDriver) -> list[Posted]:
    return [p for p in teams.connector.posted if p.method == "PUT"]


async def test_a_request_naming_nobody_goes_to_the_approvals_channel_and_shows_its_decision(
    teams: TeamsDriver,
) -> None:
    await triage_channel(teams)
    await teams.say(
        "use this channel for approvals",
        conversation_type="channel",
        conversation=APPROVALS,
        user=PM_AAD,
    )
    confirmed = teams.connector.messages(APPROVALS)[-1].body["text"]
    assert confirmed == "This channel now receives approval requests that name no approver."
    await request(teams)

    def cards_in(conversation: str) -> list[Posted]:
        return [
            p for p in teams.connector.messages(conversation) if "approval.approve" in str(p.body)
        ]

    await eventually(lambda: len(cards_in(APPROVALS)) == 1)
    assert cards_in(CHANNEL) == []  # the approvals channel, not the triage channel
    [posted] = cards_in(APPROVALS)
    activity_id = f"act-{teams.connector.posted.index(posted) + 1}"  # the fake's answer

    _, done = await teams.execute(
        "approval.approve",
        {"value": "1", "note": "Within band C"},
        user=PM_AAD,
        conversation=APPROVALS,
        conversation_type="channel",
    )
    assert "Approved: request #1 Widget Pro in Japan for Acme" in str(done["value"])
    await eventually(lambda: len(updates(teams)) == 1)
    [update] = updates(teams)
    assert update.path == f"/v3/conversations/{APPROVALS}/activities/{activity_id}"
    card = card_of(update.body)
    validators.adaptive_card(card, "the decided approval card")
    assert validators.take() == []
    approvals = teams.services.approvals
    assert approvals is not None
    request_now = await approvals.get(1)
    assert request_now is not None and request_now.decided_at is not None
    when = f"{request_now.decided_at:%d %b %H:%M} UTC"
    shown = str(card["body"])
    assert f"Approved by Someone on {when}, valid until" in shown  # by their Teams name
    assert "Note: Within band C" in shown
    assert verbs(card) == [] and "Input.Text" not in str(card)

    # A press on the card as it was changes nothing and says who decided; no update follows.
    _, stale = await teams.execute(
        "approval.decline",
        {"value": "1", "note": "No"},
        user=PM_AAD,
        conversation=APPROVALS,
        conversation_type="channel",
    )
    assert f"Request #1 was already decided: Approved by Someone on {when}." == stale["value"]
    request_now = await approvals.get(1)
    assert request_now is not None and request_now.status.value == "approved"
    await asyncio.sleep(0.3)
    assert len(updates(teams)) == 1


async def test_a_card_posted_after_its_decision_shows_it_at_once(db_url: str, engine: Any) -> None:
    """The worker was behind: the decision's refresh ran before the card was posted (so it
    found no card to update); the card, once posted, is replaced by the decided one."""
    server, services, connector = await start(db_url, worker=False)
    try:
        async with aiohttp.ClientSession() as http:
            base = str(server.make_url("")).rstrip("/")
            teams = TeamsDriver(base, http, connector, services)
            await triage_channel(teams)
            await request(teams)
            await teams.execute(
                "approval.approve", {"value": "1"}, user=PM_AAD, conversation_type="channel"
            )
            claimed = await services.outbox.claim(
                limit=10, lease=dt.timedelta(minutes=1), now=dt.datetime.now(dt.UTC)
            )
            kind = {m.id: payloads.decode(m.payload).TYPE for m in claimed}
            order = sorted(claimed, key=lambda m: kind[m.id] != "approval_refresh")
            assert kind[order[0].id] == "approval_refresh"
            deliver = services.teams_parts().deliver
            for message in order:
                await deliver(message)
            [first] = [p for p in connector.messages(CHANNEL) if "approval.approve" in str(p.body)]
            activity_id = f"act-{connector.posted.index(first) + 1}"  # the fake's answer
            [update] = updates(teams)
            assert update.path == f"/v3/conversations/{CHANNEL}/activities/{activity_id}"
            card = card_of(update.body)
            assert "Approved by Someone on " in str(card["body"]) and verbs(card) == []
            assert "Approved by" not in str(card_of(first.body))  # posted as it was written
    finally:
        await server.close()
        await connector.close()
