"""Receipts and change-notice opt-outs (bot.receipts)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.receipts import Receipt
from store.models import NoticeOptOutRow, ReceiptRow

_receipt_t = ReceiptRow.__table__  # type: ignore[attr-defined]
_optout_t = NoticeOptOutRow.__table__  # type: ignore[attr-defined]
_FIELDS = tuple(f.name for f in dataclasses.fields(Receipt))
_COLUMNS = tuple(_receipt_t.c[name] for name in _FIELDS)
_PURGE_BATCH = 10_000  # rows per DELETE: a day's purge must not hold one huge lock


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive (stored in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _receipt(row: sa.Row[Any]) -> Receipt:
    values: dict[str, Any] = dict(zip(_FIELDS, row, strict=True))
    values["at"] = _utc(values["at"])
    return Receipt(**values)


class SqlReceipts:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.insert(_receipt_t),
                [
                    {**dataclasses.asdict(r), "reason": r.reason[:500], "band": r.band[:200]}
                    for r in receipts
                ],
            )

    async def purge(self, *, before: dt.datetime) -> int:
        removed = 0
        while True:
            async with self.engine.begin() as conn:
                oldest = (
                    sa.select(_receipt_t.c.id)
                    .where(_receipt_t.c.at < before)
                    .limit(_PURGE_BATCH)
                    .scalar_subquery()
                )
                done = await conn.execute(sa.delete(_receipt_t).where(_receipt_t.c.id.in_(oldest)))
            removed += done.rowcount
            if done.rowcount < _PURGE_BATCH:
                return removed

    async def export(self, *, since: dt.datetime, until: dt.datetime) -> AsyncIterator[Receipt]:
        query = (
            sa.select(*_COLUMNS)
            .where(_receipt_t.c.at >= since, _receipt_t.c.at < until)
            .order_by(_receipt_t.c.at, _receipt_t.c.id)
        )
        async with self.engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=5000))
            async for row in result:
                yield _receipt(row)
