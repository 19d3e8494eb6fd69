"""Receipts at volume on PostgreSQL: the change-notice fan-out and a quarter's export.

Run:  .venv/bin/python -m bench.receipts [--receipts 10000000] [--askers 20000]

In a PostgreSQL database of its own (dropped afterwards), `--receipts` receipts are loaded
(COPY) spread over the past year: 5,000 people asking about 2,000 products in the demo
catalog's markets, plus `--askers` distinct people who asked about Widget Pro in the United
Arab Emirates in the last 90 days. Then, with the server's own code (bot.notices):
  (a) fan-out  the change that makes Widget Pro Not available there: the planning query
               run with the change (which answers were given) and the worker's fan-out
               (each asker's latest receipt, opt-outs, one DM row each, written to the
               outbox) — timed separately and together;
  (b) export   one quarter's receipts streamed to a CSV file, as `salesbridge receipts
               export` does.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
import uuid
from collections.abc import Sequence

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench import print_table
from bench.http import ROOT
from bot.catalog_file import diff_catalogs, parse_catalog
from bot.notices import Notices
from bot.outbox import OutboxMessage
from bot.ports import Notification
from bot.receipts import Receipts, write_csv
from store import migrate
from store.db import make_engine
from store.feedback_repo import SqlOutbox
from store.receipts_repo import SqlReceipts

PG_ADMIN = "postgresql+asyncpg://127.0.0.1:5432/postgres"
NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
MARKETS = ["AU", "NZ", "JP", "SG", "IN", "UK", "DE", "FR", "NL", "AE", "ZA", "US", "CA", "BR"]
UAE_RULE = "      - {region: AE, status: not_available, reason: Export control}\n"


class Clock:
    def now(self) -> dt.datetime:
        return NOW


def _lines(n: int, askers: int, seed: int = 7) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    year = 365 * 86400
    rows: list[tuple[object, ...]] = []
    for _ in range(n):
        at = NOW - dt.timedelta(seconds=rng.randrange(year))
        sku = f"SKU-{rng.randrange(2000):05d}"
        rows.append(
            (
                at,
                "slack",
                f"U{rng.randrange(5000):06d}",
                sku,
                "Product",
                rng.choice(MARKETS),
                None,
                "Available",
                "",
                "Growth ($10,000–$50,000)",
                1,
            )
        )
    for k in range(askers):
        at = NOW - dt.timedelta(seconds=rng.randrange(89 * 86400))
        rows.append(
            (
                at,
                "slack",
                f"W{k:07d}",
                "WDG-PRO",
                "Widget Pro",
                "AE",
                None,
                "Available",
                "",
                "Growth ($10,000–$50,000)",
                1,
            )
        )
    return rows


async def load(dsn: str, n: int, askers: int) -> float:
    conn = await asyncpg.connect(dsn)
    start = time.perf_counter()
    columns = [
        "at",
        "platform",
        "user_id",
        "sku",
        "product",
        "region",
        "segment",
        "verdict",
        "reason",
        "band",
        "catalog_version",
    ]
    step = 500_000
    done = 0
    while done < n + askers:
        part = min(step, n - done) if done < n else askers
        rows = _lines(part, 0, seed=done) if done < n else _lines(0, askers)
        await conn.copy_records_to_table("receipt", records=rows, columns=columns)
        done += part
    await conn.execute("ANALYZE receipt")
    await conn.close()
    return time.perf_counter() - start


async def run(n: int, askers: int) -> None:
    name = f"salesbridge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as c:
        await c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine)
        loaded = await load(f"postgresql://127.0.0.1:5432/{name}", n, askers)
        repo, outbox = SqlReceipts(engine), SqlOutbox(engine)

        async def enqueue(notes: Sequence[Notification]) -> None:
            await outbox.enqueue(notifications=notes, at=NOW)

        receipts = Receipts(repo=repo, clock=Clock())
        notices = Notices(repo=repo, receipts=receipts, clock=Clock(), enqueue=enqueue)
        demo = (ROOT / "catalog" / "demo.yaml").read_text(encoding="utf-8")
        changed = demo.replace(
            "      - {region: JP, status: restricted",
            UAE_RULE + "      - {region: JP, status: restricted",
            1,
        )
        old, new = parse_catalog(demo), parse_catalog(changed)
        t0 = time.perf_counter()
        [job] = await notices.plan(
            old=old, new=new, changes=diff_catalogs(old, new), change_set="b"
        )
        t1 = time.perf_counter()
        message = OutboxMessage(
            1, job.dedupe_key, job.platform, job.kind, job.target, dict(job.payload), 1
        )
        sent = await notices.fan_out(message)
        t2 = time.perf_counter()
        async with engine.connect() as c:
            dms = await c.scalar(
                sa.text("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'notice:%'")
            )
        fd, path = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        t3 = time.perf_counter()
        with open(path, "w", newline="", encoding="utf-8") as out:  # noqa: ASYNC230
            exported = await write_csv(
                receipts.export(since=dt.date(2026, 7, 1), until=dt.date(2026, 9, 30)), out
            )
        t4 = time.perf_counter()
        size = os.path.getsize(path) / 1e6  # noqa: ASYNC240
        os.unlink(path)
        print(f"{n + askers:,} receipts loaded in {loaded:.1f} s (COPY); fan-out: {sent}")
        print_table(
            [
                ["step", "rows", "seconds"],
                ["(a) plan: which answers were given (with the change)", "1 job", f"{t1 - t0:.3f}"],
                [
                    "(a) fan-out: latest receipt per asker, one DM row each",
                    f"{dms:,} DMs",
                    f"{t2 - t1:.2f}",
                ],
                ["(a) total", "", f"{t2 - t0:.2f}"],
                [f"(b) export 2026-Q3 to CSV ({size:.0f} MB)", f"{exported:,}", f"{t4 - t3:.2f}"],
            ]
        )
    finally:
        await engine.dispose()
        async with admin.connect() as c:
            await c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=10_000_000)
    parser.add_argument("--askers", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(run(args.receipts, args.askers))


if __name__ == "__main__":
    main()
