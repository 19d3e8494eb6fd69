"""Migrations apply to a database that already holds data: feedback items with their audit
trail and supporters (rows that refer to the items), briefings and outbox rows. Down to
revision 0007 (before the outbox claims, submission keys and later) and back up, nothing is lost."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog import CatalogService
from bot.feedback import FeedbackService, Settings, Submitted
from bot.types import UserRef
from store import migrate
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository
from tests.conftest import demo_text
from tests.handlers.slack.test_delivery_faults import Clock


async def test_migrations_keep_existing_rows(engine: AsyncEngine) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine), catalog=catalog, clock=Clock(), settings=Settings()
    )
    values: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "problem",
        "client": "Acme",
        "details": "Sync stalls on large files",
        "duplicate_of": "new",
    }
    made = await feedback.submit(user=UserRef("slack", "U0SALES1"), values=values)
    assert isinstance(made, Submitted)
    await migrate.downgrade(engine, "0007")
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        counts = {
            t: await conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("feedback_item", "feedback_event", "outbox")
        }
    assert counts == {"feedback_item": 1, "feedback_event": 1, "outbox": 1}
    again = await feedback.get(made.item.id)
    assert again is not None and again.title == made.item.title
    assert again.created_at.replace(tzinfo=dt.UTC) == made.item.created_at.replace(tzinfo=dt.UTC)


async def test_lookup_misses_counted_before_workspaces_were_kept_apart_are_the_shared_pool_s(
    engine: AsyncEngine,
) -> None:
    from store.updates_repo import SqlUpdatesRepository

    await migrate.downgrade(engine, "0023")
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO lookup_miss (query, region_code, day, count, first_at, last_at) "
                "VALUES ('quantum toaster', 'DE', :day, 3, :at, :at)"
            ),
            {"day": monday.date(), "at": monday},
        )
    await migrate.upgrade(engine)
    repo = SqlUpdatesRepository(engine)
    assert await repo.misses(since=monday) == [("quantum toaster", "DE", 3)]
    # The key now leads with the scope: the same question in another scope is its own row.
    await repo.record_misses(counts=[("slack::T0AAA", "quantum toaster", "DE", 1)], at=monday)
    await repo.record_misses(counts=[("", "quantum toaster", "DE", 1)], at=monday)
    assert await repo.misses(since=monday) == [("quantum toaster", "DE", 4)]
    await migrate.downgrade(engine, "0023")  # and back, the shared count kept
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT sum(count) FROM lookup_miss")) == 4
    await migrate.upgrade(engine)
