"""Receipts on both databases: written in one batch, exported by period, purged by age."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.receipts import Receipt
from store.receipts_repo import SqlReceipts

AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)
ONE = Receipt(
    "slack", "U0SALES1", AT, "WDG-PRO", "Widget Pro", "AE", None, "Available", "", "Band B", 4
)


async def test_add_export_and_purge(engine: AsyncEngine) -> None:
    repo = SqlReceipts(engine)
    rows = [
        dataclasses.replace(ONE, at=AT + dt.timedelta(days=d), user_id=f"U{d}")
        for d in range(-40, 40)
    ] + [dataclasses.replace(ONE, segment="GOV", reason="Public sector: " + "x" * 600)]
    await repo.add(rows)
    got = [r async for r in repo.export(since=AT, until=AT + dt.timedelta(days=10))]
    assert [r.user_id for r in got[:2]] == ["U0", "U0SALES1"]
    assert len(got) == 11 and got[0] == rows[40]  # every field back as written, in UTC
    assert len(got[1].reason) == 500 and got[1].segment == "GOV"  # cut to the column
    assert await repo.purge(before=AT - dt.timedelta(days=20)) == 20
    left = [
        r
        async for r in repo.export(
            since=AT - dt.timedelta(days=400), until=AT + dt.timedelta(days=400)
        )
    ]
    assert len(left) == 61
