"""Lookup misses on SQLite and PostgreSQL: a flush adds to the day's counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.types import UserRef
from bot.workspace import Workspace
from store.updates_repo import SqlUpdatesRepository


async def test_flushed_misses_add_up_per_query_market_and_day(engine: AsyncEngine) -> None:
    repo = SqlUpdatesRepository(engine)
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    await repo.record_misses(
        counts=[
            ("", "quantum toaster", "DE", 2),
            ("", "banana phone", None, 1),
            ("", "x" * 300, "AU", 1),
            ("", "x" * 250, "AU", 1),  # the same 200 characters: one row, counted twice
        ],
        at=monday,
    )
    await repo.record_misses(
        counts=[("", "quantum toaster", "DE", 3), ("", "banana phone", "AU", 1)],
        at=monday + dt.timedelta(hours=1),
    )
    await repo.record_misses(counts=[("", "quantum toaster", "DE", 4)], at=monday + dt.timedelta(1))
    await repo.record_misses(counts=[], at=monday)
    got = await repo.misses(since=monday, limit=10)
    assert got[0] == ("quantum toaster", "DE", 9)  # 2 + 3 on Monday, 4 on Tuesday
    assert ("banana phone", "", 1) in got and ("banana phone", "AU", 1) in got
    assert ("x" * 200, "AU", 2) in got  # kept to 200 characters
    assert await repo.misses(since=monday + dt.timedelta(1), limit=10) == [
        ("quantum toaster", "DE", 4)
    ]


async def test_each_workspace_hears_only_its_own_misses(engine: AsyncEngine) -> None:
    repo = SqlUpdatesRepository(engine)
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    a = Workspace("slack", None, "T0AAA", isolated=True)
    b = Workspace("slack", "E0ORG", "T0BBB", isolated=True)
    # One flush of a process's tally holds counts of many workspaces' requests.
    await repo.record_misses(
        counts=[(a.scope, "quantum toaster", "DE", 2), (b.scope, "quantum toaster", "DE", 5)],
        at=monday,
    )
    await repo.record_misses(counts=[(b.scope, "banana phone", None, 1)], at=monday)
    with workspace.using(a):
        assert await repo.misses(since=monday) == [("quantum toaster", "DE", 2)]
    with workspace.using(b):
        assert await repo.misses(since=monday) == [
            ("quantum toaster", "DE", 5),
            ("banana phone", "", 1),
        ]
    assert await repo.misses(since=monday) == []  # the shared pool holds neither


async def test_subscribers_of_an_import_touching_more_products_than_a_statement_takes(
    engine: AsyncEngine,
) -> None:
    # PostgreSQL takes at most 32,767 parameters a statement; a 100k-product import asks
    # for the subscribers of every product it touches.
    repo = SqlUpdatesRepository(engine)
    at = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    await repo.subscribe(user=UserRef("slack", "U2"), sku="S39999", at=at + dt.timedelta(1))
    await repo.subscribe(user=UserRef("slack", "U1"), sku="S39999", at=at)
    await repo.subscribe(user=UserRef("teams", "aad-1"), sku="S7", at=at)
    got = await repo.subscribers(skus=[f"S{i}" for i in range(40_000)])
    assert got == {"S39999": [("slack", "U1"), ("slack", "U2")], "S7": [("teams", "aad-1")]}
