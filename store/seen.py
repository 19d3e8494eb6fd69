"""First-seen checks for inbound deliveries (Slack event ids, Teams activity ids)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.feedback_repo import dialect_insert
from store.models import SeenEventRow

_seen_t = SeenEventRow.__table__  # type: ignore[attr-defined]


class SqlSeen:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def first_time(self, key: str) -> bool:
        """True the first time `key` is offered, in any process (a unique row claims it)."""
        now = dt.datetime.now(dt.UTC)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                dialect_insert(conn, _seen_t).values(key=key[:255], at=now).on_conflict_do_nothing()
            )
        return bool(result.rowcount)

    async def forget_before(self, at: dt.datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(_seen_t).where(_seen_t.c.at < at))
