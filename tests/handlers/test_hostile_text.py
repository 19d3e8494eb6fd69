"""User and catalog text can never ping, link or impersonate; oversized bodies are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.catalog_file import CatalogError, parse_catalog
from bot.feedback import TriageView
from bot.items import Item, Kind, Status, Urgency
from bot.types import UserRef
from handlers.slack.blocks import triage_card
from handlers.teams import cards
from tests.conftest import demo_text
from tests.handlers.conftest import SlackDriver

HOSTILE = "<!channel> <@U0CEO> <at>CEO</at> <https://evil.example|click> [x](https://evil)"


def hostile_item() -> Item:
    return Item(
        1,
        f"Widget Pro: {HOSTILE}",
        "WDG-PRO",
        "Widget Pro",
        Kind.PROBLEM,
        HOSTILE,
        None,
        None,
        None,
        Urgency.NORMAL,
        HOSTILE,
        None,
        None,
        UserRef("slack", "U0SALES1"),
        Status.NEW,
        dt.datetime.now(dt.UTC),
        note=HOSTILE,
    )


def test_feedback_text_is_escaped_on_slack() -> None:
    shown = str(triage_card(TriageView(hostile_item())))
    for raw in ("<!channel>", "<@U0CEO>", "<https://evil.example"):
        assert raw not in shown


def test_feedback_text_is_escaped_on_teams() -> None:
    shown = str(cards.triage(TriageView(hostile_item())))
    for raw in ("<at>", "<!channel>", "[x](https://evil)"):
        assert raw not in shown


def test_catalog_urls_cannot_carry_markup() -> None:
    bad = demo_text().replace(
        "https://docs.example.com/widget-pro/datasheet.pdf", "https://a><!here>|x", 1
    )
    with pytest.raises(CatalogError) as err:
        parse_catalog(bad)
    assert any(".docs[0].url" in p for p in err.value.problems)


@pytest.mark.parametrize(
    ("path", "size"), [("/slack/events", 1_100_000), ("/api/messages", 300_000)]
)
async def test_oversized_bodies_are_refused(slack: SlackDriver, path: str, size: int) -> None:
    async with slack.http.post(
        slack.base + path, data=b"x" * size, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 413
