"""Receipts: what a lookup pays is an in-memory append; the batch is written in the
background; nothing internal can be part of one; a refused write is kept for the next."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.catalog import CatalogView, product_answer
from bot.receipts import PeriodOrderError, Receipt, Receipts
from bot.types import UserRef

NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Repo:
    def __init__(self) -> None:
        self.rows: list[Receipt] = []
        self.fail = False
        self.writes = 0

    async def add(self, receipts: Sequence[Receipt]) -> None:
        self.writes += 1
        if self.fail:
            raise ConnectionError("database away")
        self.rows += receipts

    async def purge(self, *, before: dt.datetime) -> int:
        kept = [r for r in self.rows if r.at >= before]
        gone, self.rows = len(self.rows) - len(kept), kept
        return gone

    async def export(
        self, *, since: dt.datetime, until: dt.datetime, scope: str | None
    ) -> AsyncIterator[Receipt]:
        for r in self.rows:
            if since <= r.at < until and scope in (None, r.scope):
                yield r


def answer(view: CatalogView, sku: str = "WDG-PRO", region: str = "AE"):  # type: ignore[no-untyped-def]
    return product_answer(view, view.by_sku[sku], view.catalog.regions[region])


async def test_recording_writes_nothing_until_the_background_flush(
    demo_view: CatalogView,
) -> None:
    repo = Repo()
    receipts = Receipts(repo=repo, clock=Clock(), flush_delay=0.01)
    receipts.record(UserRef("slack", "U0SALES1"), answer(demo_view), 7)
    receipts.record(UserRef("teams", "aad-1"), answer(demo_view, "WDG-LITE", "AU"), 7)
    assert repo.writes == 0  # the lookup did not wait for the database
    for _ in range(100):
        await asyncio.sleep(0.01)
        if repo.rows:
            break
    assert repo.writes == 1  # both in one write
    first, second = repo.rows
    assert (first.platform, first.user_id, first.sku, first.region) == (
        "slack",
        "U0SALES1",
        "WDG-PRO",
        "AE",
    )
    assert first.catalog_version == 7 and first.at == NOW and first.product == "Widget Pro"
    assert second.verdict == "Not available" and second.reason == "Not licensed"
    await receipts.close()


async def test_no_internal_field_is_part_of_a_receipt(demo_view: CatalogView) -> None:
    names = {f.name for f in dataclasses.fields(Receipt)}
    assert not names & {"margin_pct", "cost_usd", "notes", "internal", "margin", "cost"}
    repo = Repo()
    receipts = Receipts(repo=repo, clock=Clock())
    user = UserRef("slack", "U0SALES1")
    for product in demo_view.catalog.products:
        for region in demo_view.catalog.regions.values():
            receipts.record(user, product_answer(demo_view, product, region), 1)
    await receipts.flush()
    written = repr(repo.rows)
    # The demo catalog's internal notes and costs (catalog/demo.yaml): none of them.
    for secret in ("Floor price negotiable", "Southern Cross", "3900", "works-council"):
        assert secret not in written


async def test_a_refused_write_is_kept_for_the_next_flush(demo_view: CatalogView) -> None:
    repo = Repo()
    receipts = Receipts(repo=repo, clock=Clock(), flush_delay=3600)
    receipts.record(UserRef("slack", "U0SALES1"), answer(demo_view), 1)
    repo.fail = True
    await receipts.flush()  # logged, not raised
    assert repo.rows == []
    repo.fail = False
    receipts.record(UserRef("slack", "U0SALES2"), answer(demo_view), 1)
    await receipts.flush()
    assert [r.user_id for r in repo.rows] == ["U0SALES1", "U0SALES2"]
    await receipts.close()


async def test_retention_and_an_impossible_period(demo_view: CatalogView) -> None:
    repo = Repo()
    receipts = Receipts(repo=repo, clock=Clock(), retention_days=365)
    old = Receipt("slack", "U1", NOW - dt.timedelta(days=366), "S", "P", "AE", None, "x", "", "", 1)
    kept = dataclasses.replace(old, at=NOW - dt.timedelta(days=364))
    repo.rows = [old, kept]
    assert await receipts.purge() == 1 and repo.rows == [kept]
    with pytest.raises(PeriodOrderError, match="before --since"):
        async for _ in receipts.export(since=dt.date(2026, 12, 31), until=dt.date(2026, 10, 1)):
            pass
    got = [r async for r in receipts.export(since=kept.at.date(), until=kept.at.date())]
    assert got == [kept]  # `until` is a whole day, included
