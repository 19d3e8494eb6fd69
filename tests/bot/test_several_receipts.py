"""A question naming several markets and/or segments keeps one receipt per combination it
answers (its own verdict and reason, the catalog version), through the real receipts
repository on both databases; a press on such an answer records what it shows, as a press on
one answer does; a market the catalog lacks is no receipt, among several as alone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog import CatalogService
from bot.commands import Bot
from bot.receipts import Receipt, Receipts
from bot.replies import Asked, ProductAnswer, UnknownMarket
from bot.types import UserRef
from store.receipts_repo import SqlReceipts
from store.repository import SqlRepository
from tests.conftest import demo_text

NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
SALES = UserRef("slack", "U0SALES1")
OTHER = UserRef("teams", "aad-2")
_Row = tuple[str, str, str, str, str]


class Clock:
    def now(self) -> dt.datetime:
        return NOW


@pytest.fixture
async def setup(engine: AsyncEngine) -> tuple[Bot, Receipts]:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    receipts = Receipts(repo=SqlReceipts(engine), clock=Clock(), flush_delay=3600)
    return Bot(catalog=catalog, receipts=receipts), receipts


async def _written(receipts: Receipts) -> list[Receipt]:
    await receipts.flush()
    return [r async for r in receipts.export(since=NOW.date(), until=NOW.date())]


def _rows(got: list[Receipt]) -> list[_Row]:
    """What each receipt says, in a fixed order (one batch shares one time)."""
    return sorted((r.user_id, r.region, r.segment or "", r.verdict, r.reason) for r in got)


async def _ask(bot: Bot, text: str, user: UserRef = SALES) -> object:
    return await bot.handle(user=user, command="product", text=text)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "widget pro germany france",
            # Germany's own exception (Public sector) is said within Germany's answer, as
            # when Germany is asked alone: no receipt of its own.
            [("DE", None, "Available", ""), ("FR", None, "Available", "")],
        ),
        (
            "widget pro france japan",
            [("JP", None, "Restricted", "Deal desk approval"), ("FR", None, "Available", "")],
        ),
        (
            "widget pro france banks government",
            [
                ("FR", "FSI", "Restricted", "Compliance review for banks and insurers"),
                ("FR", "PUB", "Available", ""),
            ],
        ),
        (
            "widget pro banks government germany",
            [
                ("DE", "PUB", "Not available", "Needs BSI C5 attestation"),
                ("DE", "FSI", "Restricted", "Compliance review for banks and insurers"),
            ],
        ),
        (
            "widget pro germany singapore india",
            [
                ("IN", None, "Not available", "Data residency review"),
                ("DE", None, "Available", ""),
                ("SG", None, "Planned", "Local hosting region opening, from 1 Apr 2027"),
            ],
        ),
    ],
)
async def test_each_combination_answered_is_its_own_receipt(
    setup: tuple[Bot, Receipts], question: str, expected: list[tuple[str, str | None, str, str]]
) -> None:
    bot, receipts = setup
    reply = await _ask(bot, question)
    assert isinstance(reply, ProductAnswer) and reply.asked is not None
    got = await _written(receipts)
    assert _rows(got) == sorted(("U0SALES1", r, s or "", v, why) for r, s, v, why in expected)
    version = bot.catalog.version_seen
    assert version > 0
    assert {(r.sku, r.product, r.catalog_version, r.platform) for r in got} == {
        ("WDG-PRO", "Widget Pro", version, "slack")
    }


async def test_a_market_the_catalog_lacks_is_no_receipt_among_several_as_alone(
    setup: tuple[Bot, Receipts],
) -> None:
    bot, receipts = setup
    alone = await _ask(bot, "widget pro china")
    assert isinstance(alone, UnknownMarket)
    assert await _written(receipts) == []  # today's rule: no market, no verdict recorded
    among = await _ask(bot, "widget pro france china")
    assert isinstance(among, ProductAnswer) and among.unknown == ("China",)
    assert _rows(await _written(receipts)) == [("U0SALES1", "FR", "", "Available", "")]
    every = await _ask(bot, "widget pro china narnia")
    assert isinstance(every, UnknownMarket)
    assert len(await _written(receipts)) == 1


async def test_one_market_is_still_one_receipt(setup: tuple[Bot, Receipts]) -> None:
    bot, receipts = setup
    await _ask(bot, "widget pro germany")
    await _ask(bot, "widget pro germany government")
    assert _rows(await _written(receipts)) == [
        ("U0SALES1", "DE", "", "Available", ""),
        ("U0SALES1", "DE", "PUB", "Not available", "Needs BSI C5 attestation"),
    ]


async def test_a_press_records_what_it_shows_as_a_press_on_one_answer_does(
    setup: tuple[Bot, Receipts],
) -> None:
    bot, receipts = setup
    one = await bot.answer_again(user=OTHER, sku="WDG-PRO", region_code="JP", shared=True)
    assert isinstance(one, ProductAnswer)
    # The press on one answer: a receipt for whoever pressed, what the answer shows.
    assert _rows(await _written(receipts)) == [
        ("aad-2", "JP", "", "Restricted", "Deal desk approval")
    ]
    asked = Asked(("FR", "JP"), (), ("China",))
    for shared in (True, False):  # Share in channel, See all
        again = await bot.answer_again(user=OTHER, sku="WDG-PRO", asked=asked, shared=shared)
        assert isinstance(again, ProductAnswer) and again.asked == asked
    # Each press: Japan and France again (China, which the catalog lacks, is none).
    assert _rows(await _written(receipts)) == [
        ("aad-2", "FR", "", "Available", ""),
        ("aad-2", "FR", "", "Available", ""),
        ("aad-2", "JP", "", "Restricted", "Deal desk approval"),
        ("aad-2", "JP", "", "Restricted", "Deal desk approval"),
        ("aad-2", "JP", "", "Restricted", "Deal desk approval"),
    ]
    assert {r.platform for r in await _written(receipts)} == {"teams"}
