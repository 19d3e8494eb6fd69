"""Revenue at stake over Slack, driven as Slack drives it: a +1 keeps its client's deal,
a merge brings the merged item's clients along, `/feedback top` ranks the open items for PMs
(and refuses everyone else), and deal values that are no whole amount are field errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demand import TOP_REFUSED, WEEKLY_TITLE
from handlers.app import weekly
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import as_json, calls, submission
from tests.handlers.slack.test_updates import drain

SF = "https://acme.lightning.force.com/lightning/r/Opportunity/0065g00000AbCdEAAZ/view"
SAML = "Needs SAML single sign-on before the renewal"


@pytest.fixture
async def s(db_url: str, engine: AsyncEngine, fake_slack: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with slack_server(
        db_url, fake_slack, worker=False, managers=frozenset({"U0BOSS"}), fx_rates={"EUR": 1.1}
    ) as driver:
        yield driver


async def form_for(s: SlackDriver, user: str, details: str) -> dict[str, Any]:
    await s.command(details, command="/feedback", user=user)
    view = calls(s, "views.open")[-1].body["view"]
    return as_json(view)  # type: ignore[no-any-return]


def blocks_of(body: dict[str, Any]) -> str:
    return str(as_json(body["blocks"]))


async def test_plus_one_keeps_the_deal_merge_brings_clients_and_top_ranks(s: SlackDriver) -> None:
    form = await form_for(s, "U0SALES1", SAML)
    first = await s.interaction(
        submission(
            form,
            user="U0SALES1",
            product="WDG-PRO",
            kind="feature_request",
            client="Acme Corp",
            region="AU",
            deal_value="250,000",
            link=SF,
        )
    )
    assert first.json["response_action"] == "update"
    await drain(s)  # the card is posted: a refresh updates it in place
    form = await form_for(s, "U0SALES2", SAML + " too")
    asked = await s.interaction(
        submission(
            form,
            user="U0SALES2",
            product="WDG-PRO",
            kind="feature_request",
            client="Globex",
            deal_value="90000",
            currency="EUR",
        )
    )
    again = asked.json["view"]
    assert again["blocks"][1]["block_id"] == "duplicate_of"
    plus_one = await s.interaction(submission(again, user="U0SALES2", duplicate_of="1"))
    assert "€90,000 at stake from 2 clients" in str(plus_one.json["view"])
    item = await s.services.feedback.get(1)
    assert item is not None
    assert [(x.client, x.deal_value, x.deal_currency) for x in item.supporters] == [
        ("Globex", 90000, "EUR")
    ]
    await drain(s)
    card = blocks_of(calls(s, "chat.update")[-1].body)
    assert "Acme Corp ($250,000), Globex (€90,000)" in card
    assert "$250,000 + €90,000 at stake from 2 clients" in card
    assert f"<{SF}|Opportunity in Salesforce>" in card

    # A third item, not like the first; the first is merged into it.
    form = await form_for(s, "U0SALES3", "Wants an Xero connector for the ledger team")
    await s.interaction(
        submission(
            form,
            user="U0SALES3",
            product="LDG-SYNC",
            kind="feature_request",
            client="Umbrella",
            deal_value="400000",
            duplicate_of="new",
        )
    )
    await drain(s)
    triage = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}
    await s.action("triage.merge", "1", user=PMS[0], container=triage)
    merge_view = as_json(calls(s, "views.open")[-1].body["view"])
    merged = await s.interaction(submission(merge_view, user=PMS[0], target="2"))
    assert merged.status == 200
    target = await s.services.feedback.get(2)
    assert target is not None
    assert target.revenue == {"USD": 650000, "EUR": 90000}
    assert [x.via for x in target.supporters] == [1, 1]
    await drain(s)
    dm = next(c.body for c in calls(s, "chat.postMessage") if c.body["channel"] == "U0SALES2")
    assert "Clients: Acme Corp ($250,000), Globex (€90,000)" in dm["text"]
    refreshed = [blocks_of(c.body) for c in calls(s, "chat.update")]
    merged_in = "Umbrella ($400,000), Acme Corp ($250,000), Globex (€90,000)"
    assert any(merged_in in b for b in refreshed)

    # The ranked list: for PMs and managers only.
    refused = (await s.command("top", command="/feedback", user="U0SALES1")).json
    assert refused["text"] == TOP_REFUSED
    top = (await s.command("top", command="/feedback", user="U0BOSS")).json
    shown = str(top["blocks"])
    assert "1. #2 Ledger Sync" in shown
    assert "$650,000 + €90,000 at stake from 3 clients (≈ $749,000)" in shown
    assert "#1" not in shown.split("By product")[0]  # merged: no longer open
    assert "By product" in shown
    mine = (await s.command("top widget pro", command="/feedback", user=PMS[0])).json
    assert "no open items" in mine["text"]
    bad = (await s.command("top ledger next quarter", command="/feedback", user=PMS[0])).json
    assert bad["text"].startswith("Say “this quarter”, “last quarter”")

    # The weekly PM message names the items with most at stake still new or later.
    await weekly(s.services)
    await weekly(s.services)  # a second worker, the same week
    await drain(s)
    most = [
        c.body
        for c in s.fake.delivered("chat.postMessage")
        if c.body["channel"] == TRIAGE and WEEKLY_TITLE in str(c.body)
    ]
    assert len(most) == 1 and "#2 Ledger Sync: Wants an Xero" in str(most[0])


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("$250,000", "Leave out “$”"),
        ("250k", "250000 for 250k"),
        ("-5000", "positive"),
        ("1000000000000", "check the zeros"),
        ("250000.50", "without a decimal point"),
    ],
)
async def test_deal_values_that_are_no_whole_amount_are_field_errors(
    s: SlackDriver, typed: str, says: str
) -> None:
    form = await form_for(s, "U0SALES1", SAML)
    bad = await s.interaction(
        submission(
            form,
            user="U0SALES1",
            product="WDG-PRO",
            kind="feature_request",
            client="Acme Corp",
            deal_value=typed,
        )
    )
    assert bad.json["response_action"] == "errors"
    assert set(bad.json["errors"]) == {"deal_value"}
    assert says in bad.json["errors"]["deal_value"]
    assert await s.services.feedback.get(1) is None  # nothing stored


async def test_an_unknown_currency_is_a_field_error(s: SlackDriver) -> None:
    form = await form_for(s, "U0SALES1", SAML)
    values = submission(
        form, user="U0SALES1", product="WDG-PRO", kind="feature_request", client="Acme"
    )
    # A forged option (the menu offers only ours).
    values["view"]["state"]["values"]["currency"]["currency"]["selected_option"] = {"value": "XYZ"}
    values["view"]["state"]["values"]["deal_value"]["deal_value"]["value"] = "1000"
    bad = await s.interaction(values)
    assert bad.json["response_action"] == "errors"
    assert bad.json["errors"]["currency"].startswith("I don't take “XYZ”")
