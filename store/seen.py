"""First-seen checks for inbound deliveries (Slack event ids, Teams activity ids); the health
check's write probe writes (and removes) a row of the same table."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import BUSY_TIMEOUT_MS
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

    async def probe_write(self, *, wait: float = 2.0) -> None:
        """One row written and removed in one committed transaction: raises when the
        database takes no writes (read-only, out of space, or a lock held longer than
        `wait` seconds), though it may still answer reads. The database itself gives up
        after `wait`, so nothing is left waiting on the lock."""
        key = f"healthz:{uuid.uuid4().hex}"
        ms = max(1, int(wait * 1000))
        async with self.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                await conn.exec_driver_sql(f"PRAGMA busy_timeout = {ms}")
            else:
                await conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{ms}ms'")
                await conn.exec_driver_sql(f"SET LOCAL statement_timeout = '{ms}ms'")
            try:
                await conn.execute(sa.insert(_seen_t).values(key=key, at=dt.datetime.now(dt.UTC)))
                await conn.execute(sa.delete(_seen_t).where(_seen_t.c.key == key))
            finally:
                if sqlite:  # the pooled connection goes back with store.db's usual wait
                    await conn.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
