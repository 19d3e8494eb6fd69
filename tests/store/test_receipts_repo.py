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


async def test_a_period_starts_at_its_first_microsecond(engine: AsyncEngine) -> None:
    # Receipts bypass SQLAlchemy's per-row parameters: on SQLite their times must still be
    # stored as its DateTime stores them, or comparing them with a bound time goes wrong.
    repo = SqlReceipts(engine)
    tick = dt.timedelta(microseconds=1)
    await repo.add(
        [
            dataclasses.replace(ONE, at=AT - tick, user_id="before"),
            dataclasses.replace(ONE, at=AT, user_id="first"),
            dataclasses.replace(ONE, at=AT + dt.timedelta(days=1) - tick, user_id="last"),
            dataclasses.replace(ONE, at=AT + dt.timedelta(days=1), user_id="after"),
        ]
    )
    got = [r async for r in repo.export(since=AT, until=AT + dt.timedelta(days=1))]
    assert [(r.user_id, r.at) for r in got] == [
        ("first", AT),
        ("last", AT + dt.timedelta(days=1) - tick),
    ]


async def test_demand_per_region_rolls_up_the_markets_below(engine: AsyncEngine) -> None:
    from bot.catalog_file import parse_catalog
    from bot.receipts import Demand, Receipts
    from tests.conftest import demo_text

    class Clock:
        def now(self) -> dt.datetime:
            return AT

    repo = SqlReceipts(engine)
    na = dataclasses.replace(ONE, verdict="Not available")
    await repo.add(
        [
            ONE,
            dataclasses.replace(na, region="DE", segment="PUB"),
            dataclasses.replace(na, region="AU"),
            dataclasses.replace(ONE, region="AU", verdict="Restricted"),
            dataclasses.replace(ONE, at=AT + dt.timedelta(days=1)),  # the next day: not counted
        ]
    )
    regions = {r.code: r for r in parse_catalog(demo_text()).regions}
    got = await Receipts(repo=repo, clock=Clock()).demand(
        since=AT, until=AT + dt.timedelta(days=1), regions=regions
    )
    assert got == {
        "AE": Demand(1, 0),
        "DE": Demand(1, 1),
        "EMEA": Demand(2, 1),
        "AU": Demand(2, 2),
        "APAC": Demand(2, 2),
        "GLOBAL": Demand(4, 3),
    }
