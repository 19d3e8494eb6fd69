"""Mark actioned with what shipped, on Slack: the small form, its link checked, every
submitter and supporter told, forged and repeated submissions changing nothing."""

from __future__ import annotations

from tests.handlers.conftest import PMS, TRIAGE, SlackDriver
from tests.handlers.slack.test_feedback_flow import (
    as_json,
    calls,
    eventually,
    submission,
    submit_feedback,
)

TRIAGE_CARD = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}
NOTES = "https://docs.example.com/releases/4.2#sso"


def dms_to(slack: SlackDriver, user: str) -> list[str]:
    return [
        str(c.body["text"])
        for c in calls(slack, "chat.postMessage")
        if c.body["channel"] == user and "actioned" in str(c.body["text"])
    ]


async def a_supported_item_acted_on(slack: SlackDriver) -> None:
    await submit_feedback(slack, "U0SALES1", "Acme Corp", "Needs SAML single sign-on please")
    second = await submit_feedback(
        slack, "U0SALES2", "Globex", "Needs SAML single sign-on please too"
    )
    await slack.interaction(submission(second.json["view"], user="U0SALES2", duplicate_of="1"))
    await slack.action("triage.now", "1", user=PMS[0], container=TRIAGE_CARD)


async def test_what_shipped_reaches_the_submitter_and_every_supporter(slack: SlackDriver) -> None:
    await a_supported_item_acted_on(slack)
    await slack.action("triage.actioned", "1", user=PMS[0], container=TRIAGE_CARD)
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    assert form["callback_id"] == "triage.note"
    assert [b.get("block_id") for b in form["blocks"] if b["type"] == "input"] == [
        "shipped",
        "shipped_link",
        "note",
    ]

    # A link that is no web address is answered on its field; nothing is decided.
    for bad in ("javascript:alert(1)", "ftp://files.example.com/x", "docs.example.com"):
        got = await slack.interaction(
            submission(form, user=PMS[0], shipped="SSO", shipped_link=bad)
        )
        assert got.json["response_action"] == "errors"
        assert set(got.json["errors"]) == {"shipped_link"}
    # A sales rep replaying the PM's form is refused.
    forged = await slack.interaction(
        submission(form, user="U0SALES9", shipped="Nothing", shipped_link=NOTES)
    )
    assert forged.json["errors"]["note"].startswith("Only product managers")
    item = await slack.services.feedback.get(1)
    assert item is not None and item.status.value == "now"

    done = await slack.interaction(
        submission(form, user=PMS[0], shipped="SAML SSO with Okta, release 4.2", shipped_link=NOTES)
    )
    assert done.status == 200 and done.body in ("", "{}")
    again = await slack.interaction(
        submission(form, user=PMS[0], shipped="Something else", shipped_link=NOTES)
    )
    assert "already decided" in again.json["errors"]["note"]
    item = await slack.services.feedback.get(1)
    assert item is not None and item.status.value == "actioned"

    await eventually(lambda: bool(dms_to(slack, "U0SALES1")) and bool(dms_to(slack, "U0SALES2")))
    for user in ("U0SALES1", "U0SALES2"):
        [dm] = dms_to(slack, user)
        assert f"What shipped: SAML SSO with Okta, release 4.2 {NOTES}." in dm
        assert "Something else" not in dm

    def card_offers_nothing() -> bool:  # the card refreshed: nothing left to decide
        updates = calls(slack, "chat.update")
        return bool(updates) and "triage." not in str(as_json(updates[-1].body["blocks"]))

    await eventually(card_offers_nothing)


async def test_marked_actioned_without_a_note_says_what_it_said_before(
    slack: SlackDriver,
) -> None:
    await a_supported_item_acted_on(slack)
    await slack.action("triage.actioned", "1", user=PMS[0], container=TRIAGE_CARD)
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    done = await slack.interaction(submission(form, user=PMS[0]))
    assert done.status == 200
    await eventually(lambda: bool(dms_to(slack, "U0SALES2")))
    [dm] = dms_to(slack, "U0SALES2")
    assert "Product has actioned it." in dm and "What shipped" not in dm
    # Pressed again on the old card: who decided, no second form.
    opened = len(calls(slack, "views.open"))
    await slack.action("triage.actioned", "1", user=PMS[1], container=TRIAGE_CARD)
    assert len(calls(slack, "views.open")) == opened
