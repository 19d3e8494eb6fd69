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
