"""The change-notice fan-out on both databases: a worker killed half-way through writing the
DMs loses none and doubles none (its claim runs out, another worker takes the job over and
the DMs' dedupe keys keep what was already written single); the dead worker's claim can no
longer mark the job done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.notices
from bot.catalog_file import diff_catalogs, parse_catalog
from bot.notices import NOTICES, Notices
from bot.outbox import Worker
from bot.ports import Notification
from bot.receipts import Receipt, Receipts
from store.feedback_repo import SqlOutbox
from store.receipts_repo import SqlReceipts
from tests.conftest import demo_text
from tests.handlers.slack.test_notices import CHANGED

NOW = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
LEASE = dt.timedelta(seconds=30)
ASKERS = [f"U0REP{i:04d}" for i in range(7)]


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Killed(Exception):
    """The worker process dying mid-fan-out."""


async def test_a_worker_killed_mid_fan_out_loses_and_doubles_no_notice(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.notices, "FANOUT_BATCH", 2)
    repo, outbox = SqlReceipts(engine), SqlOutbox(engine)
    asked = NOW - dt.timedelta(days=3)
    await repo.add(
        [
            Receipt("slack", u, asked, "WDG-PRO", "Widget Pro", "AE", None, "Available", "", "x", 1)
            for u in ASKERS
        ]
        + [
            # Too long ago (outside NOTICE_WINDOW_DAYS) and another market: not told.
            Receipt(
                "slack",
                "U0OLD",
                NOW - dt.timedelta(days=91),
                "WDG-PRO",
                "Widget Pro",
                "AE",
                None,
                "Available",
                "",
                "x",
                1,
            ),
            Receipt(
                "slack", "U0UK", asked, "WDG-PRO", "Widget Pro", "UK", None, "Available", "", "x", 1
            ),
        ]
    )

    async def enqueue(notes: Sequence[Notification]) -> None:
        await outbox.enqueue(notifications=notes, at=NOW)

    receipts = Receipts(repo=repo, clock=Clock())
    notices = Notices(repo=repo, receipts=receipts, clock=Clock(), enqueue=enqueue)
    old, new = parse_catalog(demo_text()), parse_catalog(CHANGED)
    job = await notices.plan(old=old, new=new, changes=diff_catalogs(old, new), change_set="cs1")
    assert [n.platform for n in job] == [NOTICES]
    await outbox.enqueue(notifications=job, at=NOW)

    calls = 0

    async def dies_on_second_batch(notes: Sequence[Notification]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed
        await enqueue(notes)

    dying = Notices(repo=repo, receipts=receipts, clock=Clock(), enqueue=dies_on_second_batch)
    [claimed] = await outbox.claim(limit=5, lease=LEASE, now=NOW, platforms=frozenset({NOTICES}))
    with pytest.raises(Killed):
        await dying.fan_out(claimed)

    later = NOW + LEASE + dt.timedelta(seconds=1)
    other = Worker(
        store=outbox, deliver=notices.fan_out, now=lambda: later, platforms=frozenset({NOTICES})
    )
    assert await other.run_once() == 1  # the lease ran out: taken over
    assert not await outbox.mark_sent(
        message_id=claimed.id, claim=claimed.claim, result={}, now=later
    )
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text("SELECT target, dedupe_key FROM outbox WHERE dedupe_key LIKE 'notice:%'")
            )
        ).all()
        job_status = await conn.scalar(
            sa.text("SELECT status FROM outbox WHERE dedupe_key = 'notices:cs1'")
        )
    assert sorted(r.target for r in rows) == ASKERS  # each asker once, nobody else
    assert job_status == "sent"
