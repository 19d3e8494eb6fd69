"""User and catalog text can never ping, link or impersonate; oversized bodies are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog_file import CatalogError, parse_catalog
from bot.feedback import TriageView
from bot.items import Item, Kind, Status, Urgency
from bot.types import UserRef
from handlers.slack.blocks import triage_card
from handlers.teams import cards
from tests.conftest import demo_text
from tests.fakes import FakeSlack
from tests.handlers.conftest import slack_server

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


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("path", "size", "cap"),
    [("/slack/events", 1_100_000, 1_000_000), ("/api/messages", 300_000, 256 * 1024)],
)
async def test_oversized_bodies_are_refused(
    db_url: str,
    engine: AsyncEngine,
    fake_slack: FakeSlack,
    path: str,
    size: int,
    cap: int,
    chunked: bool,
) -> None:
    """The caps hold while reading: a chunked body (no Content-Length) stops at the cap
    too, where aiohttp's own limit (2 MiB) would have let it through."""

    async def pieces(n: int) -> AsyncIterator[bytes]:
        for _ in range(n // 10_000):
            yield b"x" * 10_000

    async with slack_server(db_url, fake_slack, teams_emulator=True) as slack:
        data = pieces(size) if chunked else b"x" * size
        headers = {"Content-Type": "application/json"}
        async with slack.http.post(slack.base + path, data=data, headers=headers) as r:
            assert r.status == 413
        # Just under the cap, chunked or not, the body is read (and refused for its content).
        data = pieces(cap - 10_000) if chunked else b"x" * (cap - 10_000)
        async with slack.http.post(slack.base + path, data=data, headers=headers) as r:
            assert r.status in (400, 401)
