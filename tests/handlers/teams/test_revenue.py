"""Revenue at stake on Teams, activities posted to /api/messages and replies read from the
fake Bot Connector: a +1 keeps its deal, a merge brings the clients along, the ranked list
for PMs only, and deal values that are no whole amount come back on the card."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demand import TOP_REFUSED
from handlers.teams.inbound import STATE
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver, start
from tests.handlers.teams.test_teams import card_of, eventually

OTHER_AAD = "00000000-0000-0000-0000-0000000000b2"
HS = "https://app.hubspot.com/contacts/4411223/record/0-3/9876543210"
SAML = "Needs SAML single sign-on before the renewal"


@pytest.fixture
async def teams(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(db_url, fx_rates={"EUR": 1.1})
    try:
        async with aiohttp.ClientSession() as http:
            yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    finally:
        await server.close()
        await connector.close()


def values(**extra: str) -> dict[str, Any]:
    return {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "Acme Corp",
        "urgency": "normal",
        "details": SAML,
        **extra,
    }


def field_error(card: dict[str, Any], field: str) -> str | None:
    el = next(el for el in card["body"] if el.get("id") == field)
    return el.get("errorMessage")  # type: ignore[no-any-return]


async def test_plus_one_merge_and_the_ranked_list_on_teams(teams: TeamsDriver) -> None:
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    _, made = await teams.execute(
        "feedback.submit", values(deal_value="250000", link=HS, duplicate_of="new")
    )
    assert "Product has it as #1" in str(made["value"])
    _, asked = await teams.execute(
        "feedback.submit",
        values(client="Globex", deal_value="90 000", currency="EUR", details=SAML + " too"),
        user=OTHER_AAD,
    )
    assert "+1 with my client: #1" in str(asked["value"])
    _, plus_one = await teams.execute(
        "feedback.submit",
        values(
            client="Globex",
            deal_value="90 000",
            currency="EUR",
            details=SAML + " too",
            duplicate_of="1",
        ),
        user=OTHER_AAD,
    )
    assert "$250,000 + €90,000 at stake from 2 clients" in str(plus_one["value"])

    def cards_in_channel() -> list[dict[str, Any]]:
        return [
            card_of(p.body)
            for p in teams.connector.posted
            if CHANNEL in p.path and (p.body or {}).get("attachments")
        ]

    await eventually(lambda: any("Globex (€90,000)" in str(c) for c in cards_in_channel()))
    card = next(c for c in cards_in_channel() if "Globex (€90,000)" in str(c))
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Clients"] == "Acme Corp ($250,000), Globex (€90,000)"
    assert facts["Revenue at stake"] == "$250,000 + €90,000 at stake from 2 clients"
    link = next(el for el in card["body"] if el["type"] == "ActionSet")
    assert link["actions"] == [{"type": "Action.OpenUrl", "title": "Deal in HubSpot", "url": HS}]

    # Another item; the first is merged into it and its clients come along.
    await teams.execute(
        "feedback.submit",
        values(
            product="LDG-SYNC",
            client="Umbrella",
            deal_value="400000",
            details="Wants an Xero connector for the ledger team",
            duplicate_of="new",
        ),
    )
    status, _ = await teams.execute(
        "triage.note",
        {STATE: {"item": "1", "action": "triage.merge"}, "target": "2", "note": ""},
        user=PM_AAD,
        conversation_type="channel",
    )
    assert status == 200
    target = await teams.services.feedback.get(2)
    assert target is not None and target.revenue == {"USD": 650000, "EUR": 90000}

    def answer(conversation: str) -> Any:
        """The bot's reply to the last message said there (not a DM the outbox delivered
        meanwhile, such as the merge's news to the submitter: replies name the activity)."""
        return next(
            p.body
            for p in reversed(teams.connector.messages(conversation))
            if p.path.rstrip("/").rsplit("/", 1)[-1].startswith("act-in-")
        )

    # The ranked list: refused to sales, ranked for the PM.
    await teams.say("feedback top")
    assert answer(f"a:dm-{SALES_AAD}")["text"] == TOP_REFUSED
    await teams.say("feedback top this quarter", user=PM_AAD)
    reply = answer(f"a:dm-{PM_AAD}")
    shown = str(card_of(reply))
    assert "1. #2 Ledger Sync" in shown
    assert "$650,000 + €90,000 at stake from 3 clients (≈ $749,000)" in shown
    assert "Deal in HubSpot" not in shown  # #1 is merged: not listed, its link with it
    # Words that are no product, region or period are feedback: the form, prefilled.
    await teams.say("feedback top bank wants SSO", user=SALES_AAD)
    form = str(card_of(answer(f"a:dm-{SALES_AAD}")))
    assert "'id': 'details'" in form and "top bank wants SSO" in form
    await teams.say("feedback top ledger 2026-Q9", user=PM_AAD)
    said = answer(f"a:dm-{PM_AAD}")["text"]
    assert said.startswith("Say “this quarter”")


@pytest.mark.parametrize(
    ("typed", "says"),
    [("€90k", "Leave out “€”"), ("1.5m", "1500000 for 1.5m"), ("(500)", "positive")],
)
async def test_bad_deal_values_come_back_on_the_card(
    teams: TeamsDriver, typed: str, says: str
) -> None:
    _, bad = await teams.execute("feedback.submit", values(deal_value=typed))
    error = field_error(bad["value"], "deal_value")
    assert error is not None and says in error
    # Nothing typed is lost: the card comes back with the values.
    deal = next(el for el in bad["value"]["body"] if el.get("id") == "deal_value")
    assert deal["value"] == typed
    assert await teams.services.feedback.get(1) is None
