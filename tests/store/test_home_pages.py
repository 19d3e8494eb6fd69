"""The PM queue and My feedback as indexed, paginated queries: pages that join up without
gaps or repeats, counts from the database, and a home view that stays within Slack's 100
blocks however long the history is."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history_data import seed_history
from bot.feedback import MINE_PAGE, QUEUE_PAGE, HomeView
from bot.ids import ActionId
from bot.interactions import buttons_for
from bot.items import Status
from bot.types import UserRef
from handlers.slack import blocks
from store.feedback_repo import SqlFeedbackRepository
from store.models import FeedbackItemRow, FeedbackSupporterRow

ITEMS = 700
_items = FeedbackItemRow.__table__  # type: ignore[attr-defined]
_supporters = FeedbackSupporterRow.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def seeded(engine: AsyncEngine) -> SqlFeedbackRepository:
    await seed_history(engine, items=ITEMS, briefings=0)
    return SqlFeedbackRepository(engine)


async def test_queue_pages_are_the_longest_waiting_in_order(
    engine: AsyncEngine, seeded: SqlFeedbackRepository
) -> None:
    async with engine.connect() as conn:
        expected = [
            r.id
            for r in await conn.execute(
                sa.select(_items.c.id)
                .where(_items.c.status == "new")
                .order_by(_items.c.created_at, _items.c.id)
            )
        ]
    pages, offset = [], 0
    while page := await seeded.queue_page(limit=QUEUE_PAGE, offset=offset):
        assert len(page) <= QUEUE_PAGE
        pages.append(page)
        offset += QUEUE_PAGE
    assert [i.id for p in pages for i in p] == expected
    assert all(i.status is Status.NEW for p in pages for i in p)
    counts = await seeded.queue_counts()
    assert counts[Status.NEW] == len(expected) == ITEMS * 3 // 10
    assert (counts[Status.NOW], counts[Status.LATER]) == (ITEMS // 10, ITEMS // 10)


async def test_my_pages_hold_what_i_sent_and_supported_newest_first(
    engine: AsyncEngine, seeded: SqlFeedbackRepository
) -> None:
    async with engine.connect() as conn:
        user_id = await conn.scalar(  # the busiest supporter also sent items of their own
            sa.select(_supporters.c.user_id)
            .group_by(_supporters.c.user_id)
            .order_by(sa.func.count().desc(), _supporters.c.user_id)
            .limit(1)
        )
        sent = set(
            await conn.scalars(sa.select(_items.c.id).where(_items.c.submitter_id == user_id))
        )
        supported = set(
            await conn.scalars(
                sa.select(_supporters.c.item_id).where(_supporters.c.user_id == user_id)
            )
        )
    user = UserRef("slack", str(user_id))
    mine, offset = [], 0
    while page := await seeded.items_for(user=user, limit=3, offset=offset):
        mine += [i.id for i in page]
        offset += 3
    assert supported and mine == sorted(sent | supported, reverse=True)
    assert await seeded.count_for(user=user) == len(mine)


async def test_a_merged_items_people_follow_its_target(
    engine: AsyncEngine, seeded: SqlFeedbackRepository
) -> None:
    # Seeded: item 10n+8 is merged into 10n; item 37k has a supporter.
    target = await seeded.get_item(item_id=370)
    assert target is not None and 378 in target.merged
    merged = await seeded.get_item(item_id=378)
    assert merged is not None
    assert merged.submitter in target.followers


def _view(mine: int, waiting: int, page: int = 1) -> HomeView:
    return HomeView((), (), mine, {Status.NEW: waiting, Status.NOW: 0, Status.LATER: 0}, page)


def test_home_offers_more_while_a_list_goes_on() -> None:
    assert not _view(MINE_PAGE, QUEUE_PAGE).more
    [more] = buttons_for(_view(MINE_PAGE + 1, 0))
    assert (more.action, more.value) == (ActionId.HOME_MORE, "2")
    assert buttons_for(_view(0, 3 * QUEUE_PAGE, page=2))[0].value == "3"
    assert not _view(0, 3 * QUEUE_PAGE, page=3).more


async def test_the_home_view_of_a_long_history_fits_slack(
    engine: AsyncEngine, seeded: SqlFeedbackRepository
) -> None:
    user = UserRef("slack", "U7")
    mine = await seeded.items_for(user=user, limit=MINE_PAGE)
    queue = await seeded.queue_page(limit=QUEUE_PAGE)
    view = HomeView(
        tuple(mine), tuple(queue), await seeded.count_for(user=user), await seeded.queue_counts()
    )
    home = blocks.home(view)
    assert len(home["blocks"]) < 100
    assert "home.more" in str(home)  # the queue goes on beyond one page
    assert f"1–{QUEUE_PAGE} of {ITEMS * 3 // 10}" in str(home)


async def test_merged_items_cost_no_query_each(
    engine: AsyncEngine, seeded: SqlFeedbackRepository
) -> None:
    async with engine.begin() as conn:  # 70 items merged into #10
        await conn.execute(
            sa.update(_items)
            .where(_items.c.id % 10 == 8, _items.c.id > 10)
            .values(merged_into_id=10, status="merged")
        )
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        target = await seeded.get_item(item_id=10)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert target is not None and len(target.merged) == ITEMS // 10 - 1
    assert len(statements) <= 4, statements
