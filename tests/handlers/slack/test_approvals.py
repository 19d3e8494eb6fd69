"""Approval requests end to end, driven exactly as Slack drives them: a Restricted answer's
Request approval, the form, the card in the contact's DM, refused and repeated presses,
forged forms, the requester's DM and the approval in their next answer; and `/coverage csv`."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, InputBlock, SectionBlock

from bot import payloads
from bot.approvals import ApprovalStatus
from bot.types import UserRef
from handlers.slack.notifier import make_slack_notifier
from tests.fakes import Call, FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually, submission

DEAL_DESK = "U01DEALDESK"  # the contact of Widget Pro's rule for Japan (Restricted)


def posts_to(slack: SlackDriver, channel: str) -> list[Call]:
    return [c for c in calls(slack, "chat.postMessage") if c.body["channel"] == channel]


def action_ids(blocks: Any) -> list[str]:
    return [
        el["action_id"] for b in as_json(blocks) if b["type"] == "actions" for el in b["elements"]
    ]


def said(slack: SlackDriver) -> str:
    """The last thing told to the presser through response_url."""
    return str(slack.fake.responses[-1].get("text"))


async def request_approval(slack: SlackDriver, *, user: str = "U0SALES1", client: str) -> None:
    answer = await slack.command("widget pro japan", user=user)
    assert "approval.request" in action_ids(answer.json["blocks"])
    await slack.action("approval.request", "WDG-PRO|JP", user=user)
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    assert form["callback_id"] == "approval.submit"
    sent = await slack.interaction(
        submission(
            form,
            user=user,
            client=client,
            deal_value="250000",
            currency="EUR",
            why="Three-year renewal, signed this quarter",
        )
    )
    assert sent.json["response_action"] == "update"
    assert "is with the approver" in str(sent.json["view"])


async def test_restricted_request_decision_dm_and_the_approval_in_the_next_answer(
    slack: SlackDriver,
) -> None:
    await request_approval(slack, client="Acme")
    await eventually(lambda: bool(posts_to(slack, DEAL_DESK)))
    [card] = posts_to(slack, DEAL_DESK)
    assert "Approval request #1" in card.body["text"]
    assert action_ids(card.body["blocks"]) == [
        "approval.approve",
        "approval.decline",
        "approval.info",
    ]
    assert "€250,000" in str(card.body["blocks"]) and "<@U0SALES1>" in str(card.body["blocks"])

    # Someone else's press changes nothing and is told why.
    await slack.action("approval.approve", "1", user="U0SALES2")
    assert said(slack).startswith("Only the person this request was sent to")
    assert (await slack.services.approvals.get(1)).status.value == "pending"  # type: ignore[union-attr]

    await slack.action("approval.approve", "1", user=DEAL_DESK)
    assert said(slack).startswith("Approved: request #1 Widget Pro in Japan for Acme")
    # A second press (or the owner, a moment later) makes no second decision.
    await slack.action("approval.decline", "1", user=PMS[0])
    assert "was already decided: Approved by" in said(slack)

    await eventually(lambda: bool(posts_to(slack, "U0SALES1")))
    [dm] = posts_to(slack, "U0SALES1")
    assert "Approved by <@U01DEALDESK>, valid until" in dm.body["text"]

    answer = await slack.command("widget pro japan")
    assert "Approved for Acme by <@U01DEALDESK> until" in str(answer.json["blocks"])
    assert "approval.request" not in action_ids(answer.json["blocks"])  # already approved
    other = await slack.command("widget pro japan", user="U0SALES2")
    assert "Approved for" not in str(other.json["blocks"])
    mine = await slack.command("my answers")
    assert "#1 Widget Pro in Japan for Acme: Approved, valid until" in mine.json["text"]
    await slack.post_json(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": "EvHome",
            "event_time": 1700000000,
            "authed_users": [],
            "event": {"type": "app_home_opened", "user": "U0SALES1", "tab": "home"},
        }
    )
    await eventually(lambda: bool(calls(slack, "views.publish")))
    home = str(as_json(calls(slack, "views.publish")[-1].body["view"]))
    assert "My approval requests" in home
    assert "#1 Widget Pro in Japan for Acme: Approved, valid until" in home


async def test_decline_needs_a_note_and_forged_forms_change_nothing(slack: SlackDriver) -> None:
    await request_approval(slack, client="Initech")
    await eventually(lambda: bool(posts_to(slack, DEAL_DESK)))
    await slack.action("approval.decline", "1", user=DEAL_DESK)
    note_view = as_json(calls(slack, "views.open")[-1].body["view"])
    assert note_view["callback_id"] == "approval.note"
    empty = await slack.interaction(submission(note_view, user=DEAL_DESK, note=""))
    assert empty.json["response_action"] == "errors"

    # The decider's form replayed by someone else, or pointed at another request.
    forged = await slack.interaction(submission(note_view, user="U0SALES1", note="ok"))
    assert forged.json["errors"]["note"].startswith("Only the person this request")
    other = {**note_view, "private_metadata": note_view["private_metadata"].replace('"1"', '"99"')}
    unknown = await slack.interaction(submission(other, user=DEAL_DESK, note="no"))
    assert "There is no approval request #99" in unknown.json["errors"]["note"]
    stale = {**note_view, "private_metadata": "{}"}
    assert "out of date" in str((await slack.interaction(submission(stale, user=DEAL_DESK))).json)
    # A press naming no request, or a request that does not exist.
    await slack.action("approval.approve", "not-a-number", user=DEAL_DESK)
    assert "no longer points at anything" in said(slack)
    await slack.action("approval.approve", "42", user=DEAL_DESK)
    assert said(slack) == "There is no approval request #42."
    assert (await slack.services.approvals.get(1)).status.value == "pending"  # type: ignore[union-attr]

    done = await slack.interaction(
        submission(note_view, user=DEAL_DESK, note="Not for public sector clients")
    )
    assert done.json["response_action"] == "update"
    again = await slack.interaction(submission(note_view, user=DEAL_DESK, note="Still no"))
    assert "already decided: Declined" in again.json["errors"]["note"]
    await eventually(lambda: bool(posts_to(slack, "U0SALES1")))
    [dm] = posts_to(slack, "U0SALES1")
    assert "Declined by <@U01DEALDESK>. Note: Not for public sector clients" in dm.body["text"]
    answer = await slack.command("widget pro japan")
    assert "Approved for" not in str(answer.json["blocks"])


async def test_a_forged_request_form_for_a_product_not_restricted_sends_nothing(
    slack: SlackDriver,
) -> None:
    await slack.action("approval.request", "WDG-PRO|JP")
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    for forged in ("WDG-PRO|AU", "NO-SUCH|JP", ""):
        metadata = form["private_metadata"].replace("WDG-PRO|JP", forged)
        answer = await slack.interaction(
            submission(
                {**form, "private_metadata": metadata},
                client="Acme",
                deal_value="5",
                currency="USD",
                why="x",
            )
        )
        assert answer.json["response_action"] == "errors", forged
    await slack.action("approval.request", "WDG-PRO|AU")  # an Available answer
    assert "Only a Restricted answer needs approval" in said(slack)
    assert calls(slack, "chat.postMessage") == []
    assert slack.services.approvals is not None
    assert await slack.services.approvals.mine(UserRef("slack", "U0SALES1")) is None


async def test_coverage_csv_is_uploaded_for_its_audience_only(slack: SlackDriver) -> None:
    refused = await slack.command("csv", command="/coverage", user="U0SALES1")
    assert "Coverage reports are for product managers" in refused.json["text"]
    answer = await slack.command("csv this quarter", command="/coverage", user=PMS[0])
    assert "as CSV" in answer.json["text"]
    await eventually(lambda: bool(calls(slack, "files.completeUploadExternal")))
    names = [str(c.body.get("filename")) for c in calls(slack, "files.getUploadURLExternal")]
    assert len(names) == 1 and names[0].endswith(".csv")  # the CSV alone, no chart
    [content] = slack.fake.uploads.values()
    text = content.decode()
    assert text.splitlines()[0].startswith("region_code,region,parent_code,briefings")
    assert "margin" not in text.casefold()


async def test_need_more_info_reply_goes_back_to_the_approver_who_then_decides(
    slack: SlackDriver,
) -> None:
    await request_approval(slack, client="Globex")
    await eventually(lambda: bool(posts_to(slack, DEAL_DESK)))
    await slack.action("approval.info", "1", user=DEAL_DESK)
    note_view = as_json(calls(slack, "views.open")[-1].body["view"])
    await slack.interaction(submission(note_view, user=DEAL_DESK, note="Which modules?"))
    await eventually(lambda: bool(posts_to(slack, "U0SALES1")))
    [dm] = posts_to(slack, "U0SALES1")
    assert "needs more information" in dm.body["text"] and "Which modules?" in dm.body["text"]
    assert action_ids(dm.body["blocks"]) == ["approval.reply"]

    await slack.action("approval.reply", "1", user="U0SALES2")  # not their request
    assert said(slack) == "Only the person who made this request can answer for it."
    await slack.action("approval.reply", "1", user="U0SALES1")
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    assert form["callback_id"] == "approval.answer"
    forged = await slack.interaction(submission(form, user=DEAL_DESK, answer="none"))
    assert forged.json["errors"]["answer"].startswith("Only the person who made this request")
    sent = await slack.interaction(submission(form, user="U0SALES1", answer="Core and Sync"))
    assert "is with the approver" in str(sent.json["view"])
    again = await slack.interaction(submission(form, user="U0SALES1", answer="Core and Sync"))
    assert "not waiting for an answer" in again.json["errors"]["answer"]
    await eventually(lambda: len(posts_to(slack, DEAL_DESK)) == 2)
    card = str(posts_to(slack, DEAL_DESK)[1].body["blocks"])
    assert "More information asked: Which modules?" in card
    assert "Requester's answer: Core and Sync" in card

    await slack.action("approval.approve", "1", user=DEAL_DESK)
    assert said(slack).startswith("Approved: request #1 Widget Pro in Japan for Globex")
    await eventually(lambda: len(posts_to(slack, "U0SALES1")) == 2)
    assert "Approved by <@U01DEALDESK>" in posts_to(slack, "U0SALES1")[1].body["text"]


async def when_decided(slack: SlackDriver, request_id: int = 1) -> str:
    """The request's decision time as the card shows it."""
    assert slack.services.approvals is not None
    request = await slack.services.approvals.get(request_id)
    assert request is not None and request.decided_at is not None
    return f"{request.decided_at:%d %b %H:%M} UTC"


def kinds(blocks: Any) -> list[type[Block]]:
    """The card's blocks as slack_sdk's Block Kit models parse them (validating them)."""
    parsed = Block.parse_all(as_json(blocks))
    assert all(type(b) is not Block for b in parsed), parsed
    return [type(b) for b in parsed]


async def test_the_approvers_card_shows_each_step_in_place_and_a_stale_press_changes_nothing(
    slack: SlackDriver,
) -> None:
    await request_approval(slack, client="Acme")
    await eventually(lambda: bool(posts_to(slack, DEAL_DESK)))
    [posted] = posts_to(slack, DEAL_DESK)
    where = (posted.answer["channel"], posted.answer["ts"])  # the DM's id, as Slack answered
    assert where[0] == "D01DEALDESK"

    # Need more info: the card says who asked and when, and keeps what still applies.
    await slack.action("approval.info", "1", user=DEAL_DESK)
    note_view = as_json(calls(slack, "views.open")[-1].body["view"])
    await slack.interaction(submission(note_view, user=DEAL_DESK, note="Which modules?"))
    await eventually(lambda: len(calls(slack, "chat.update")) == 1)
    [asked] = calls(slack, "chat.update")
    assert (asked.body["channel"], asked.body["ts"]) == where
    shown = str(as_json(asked.body["blocks"]))
    assert action_ids(asked.body["blocks"]) == ["approval.approve", "approval.decline"]
    assert f"<@U01DEALDESK> asked for more information on {await when_decided(slack)}" in shown
    assert "More information asked: Which modules?" in shown
    assert InputBlock in kinds(asked.body["blocks"])  # the note still travels with a press

    # Declined by a product manager, with a note: who, what, the note and when; no presses.
    await slack.action("approval.decline", "1", user=PMS[0])
    decline_view = as_json(calls(slack, "views.open")[-1].body["view"])
    await slack.interaction(submission(decline_view, user=PMS[0], note="Not this quarter"))
    await eventually(lambda: len(calls(slack, "chat.update")) == 2)
    decided = calls(slack, "chat.update")[-1]
    assert (decided.body["channel"], decided.body["ts"]) == where
    shown = str(as_json(decided.body["blocks"]))
    assert f"Declined by <@U0PM1> on {await when_decided(slack)}. Note: Not this quarter" in shown
    assert "More information asked: Which modules?" in shown
    found = kinds(decided.body["blocks"])
    assert SectionBlock in found and ActionsBlock not in found and InputBlock not in found
    assert decided.body["text"].endswith("(Declined)")

    # A press on the card as it was (a stale client, a replay): nothing changes, and the
    # presser is told who decided; the card is not updated again, nobody is told twice.
    await eventually(lambda: len(posts_to(slack, "U0SALES1")) == 2)
    await slack.action("approval.approve", "1", user=DEAL_DESK)
    told = said(slack)  # the decider by the name they are known by
    assert (
        told == f"Request #1 was already decided: Declined by sam on {await when_decided(slack)}."
    )
    assert slack.services.approvals is not None
    request = await slack.services.approvals.get(1)
    assert request is not None and request.status is ApprovalStatus.DECLINED
    await asyncio.sleep(0.3)
    assert len(calls(slack, "chat.update")) == 2 and len(posts_to(slack, "U0SALES1")) == 2


async def test_a_card_posted_after_its_decision_shows_it_at_once(
    db_url: str, engine: object, fake_slack: FakeSlack
) -> None:
    """The worker was behind: the decision's refresh ran before the card was posted (so it
    found no card to update); the card, once posted, is updated to the decision."""
    async with slack_server(db_url, fake_slack, worker=False) as slack:
        await request_approval(slack, client="Acme")
        await slack.action("approval.approve", "1", user=DEAL_DESK)
        services = slack.services
        notifier = make_slack_notifier(services.settings, services.feedback,
                                       approvals=services.approvals)  # fmt: skip
        claimed = await services.outbox.claim(
            limit=10, lease=dt.timedelta(minutes=1), now=dt.datetime.now(dt.UTC)
        )
        kind = {m.id: payloads.decode(m.payload).TYPE for m in claimed}
        order = sorted(claimed, key=lambda m: kind[m.id] != "approval_refresh")  # refresh first
        assert kind[order[0].id] == "approval_refresh"
        for message in order:
            await notifier.deliver(message)
        [card] = posts_to(slack, DEAL_DESK)
        [update] = calls(slack, "chat.update")
        where = (card.answer["channel"], card.answer["ts"])
        assert (update.body["channel"], update.body["ts"]) == where
        assert f"Approved by <@U01DEALDESK> on {await when_decided(slack)}" in str(
            as_json(update.body["blocks"])
        )
        assert action_ids(update.body["blocks"]) == []
