"""Items with many clients stay within what Slack and Teams accept: the client list is cut
once in bot/ (the first few named, the rest counted) and the Teams cards for /feedback top,
triage and home keep their lists to a byte budget, judged by the vendored Adaptive Card
schema with Teams' 28 KB limit and by slack_sdk's Block Kit models."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from bot.demand import CLIENTS_SHOWN, DemandReport, DemandRow, clients_text
from bot.feedback import HomeView, TriageView
from bot.items import Item, Kind, Status, Supporter, Urgency
from bot.types import UserRef
from handlers.slack import blocks
from handlers.teams import cards
from tests import validators

AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
CARD_BYTES = 28 * 1024


def item(n: int, clients: int = 121) -> Item:
    return Item(
        id=n,
        title=f"Widget Pro: Needs SAML single sign-on for the staff portal, request {n}",
        product_sku="WDG-PRO",
        product_name="Widget Pro",
        kind=Kind.FEATURE_REQUEST,
        client=f"Acme Holdings International {n}",
        region_code="AU",
        deal_value=250_000,
        deal_currency="USD",
        urgency=Urgency.HIGH,
        details="Needs SAML single sign-on before they sign the renewal. " * 10,
        link=None,
        permalink=None,
        submitter=UserRef("teams", "aad-sales"),
        status=Status.NEW,
        created_at=AT,
        supporters=tuple(
            Supporter(
                UserRef("teams", f"aad-rep-{c}"),
                f"Client Number {c:03d} Financial Services Group",
                AT,
                90_000 + c,
                "EUR",
            )
            for c in range(clients - 1)
        ),
    )


ITEMS = [item(n) for n in range(1, 11)]


def size(card: cards.Card) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


def test_the_client_list_names_the_first_few_and_counts_the_rest() -> None:
    text = clients_text(ITEMS[0])
    assert text.count("Financial Services Group") == CLIENTS_SHOWN - 1
    assert text.endswith(f"… and {121 - CLIENTS_SHOWN} more clients")
    assert clients_text(ITEMS[0], shown=None).count("Financial Services Group") == 120


def test_ten_items_of_121_clients_fit_the_cards_and_blocks() -> None:
    report = DemandReport(
        "everything",
        tuple(DemandRow(n, i, 121, 6) for n, i in enumerate(ITEMS, start=1)),
        len(ITEMS),
        (),
    )
    home = HomeView(mine=tuple(ITEMS), queue=tuple(ITEMS), mine_total=10, counts={Status.NEW: 10})
    triage = TriageView(item=ITEMS[0])
    made = {
        "top": cards.demand(report),
        "home": cards.home(home),
        "triage": cards.triage(triage),
    }
    for name, card in made.items():
        assert size(card) < CARD_BYTES, (name, size(card))
        validators.adaptive_card(card, f"Teams {name} card")
    # All ten items are listed, each with its clients cut and the total of all of them.
    listed = json.dumps(made["top"], ensure_ascii=False)
    assert all(f"#{i.id} " in listed for i in ITEMS)
    assert listed.count(f"… and {121 - CLIENTS_SHOWN} more clients") == 10
    validators.slack_message(blocks.demand(report), "Slack /feedback top")
    validators.slack_message(blocks.triage_card(triage), "Slack triage card")
    validators.slack_view(blocks.home(home), "Slack App Home")
    assert validators.take() == []


def test_a_card_keeps_its_list_to_a_budget_and_says_what_it_left_out() -> None:
    """Titles and client names at their longest: the ranked list stops at its budget and
    counts the items it could not show."""
    long = [
        dataclasses.replace(
            item(n, clients=1),
            title="Widget Pro: " + "x" * 400,
            supporters=tuple(
                Supporter(UserRef("teams", f"r{c}"), f"{c} " + "C" * 198, AT, 1, "EUR")
                for c in range(CLIENTS_SHOWN)
            ),
        )
        for n in range(1, 31)
    ]
    report = DemandReport(
        "everything", tuple(DemandRow(n, i, 9, 6) for n, i in enumerate(long, start=1)), 30, ()
    )
    card = cards.demand(report)
    assert size(card) < CARD_BYTES, size(card)
    validators.adaptive_card(card, "Teams top card, long items")
    assert "more items (too long for one card)" in json.dumps(card, ensure_ascii=False)
    home = cards.home(HomeView(mine=tuple(long[:20]), queue=tuple(long[:10]), counts={}))
    assert size(home) < CARD_BYTES, size(home)
    validators.adaptive_card(home, "Teams home card, long items")
    assert validators.take() == []
