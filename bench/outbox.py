"""Outbox delivery benchmark: one worker against a fake Slack Web API on loopback.

Run:  .venv/bin/python -m bench.outbox [--messages 2000] [--storm 1000] [--rate 50]
                                        [--bulk 3000]

1. Throughput: deliveries per second of one worker (batch 20, 8 sends in flight) draining
   N DMs against an unthrottled fake.
2. 429 storm: time to drain 1,000 DMs while the fake allows `rate` chat writes per second
   and answers every request beyond that with 429 and Retry-After: 1 (Slack's behaviour).
   The floor is messages / rate seconds. Every message must arrive exactly once.
3. The same storm drained by two workers (two engines, two clients: nothing shared but the
   database), each told of the other's 429s through the shared pause.
4. A decision DM written behind `bulk` announcement digests: seconds until it arrives.
Runs on SQLite, and on PostgreSQL too when 127.0.0.1:5432 answers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench import print_table
from bot.catalog import CatalogService
from bot.feedback import FeedbackService, Settings
from bot.outbox import RateGate, Worker
from bot.ports import Lane, Notification, SystemClock
from handlers.slack.notifier import GatedWebClient, SlackNotifier
from store import migrate
from store.db import make_engine
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from store.repository import SqlRepository
from tests.fakes import Call, FakeSlack

PG_ADMIN = "postgresql+asyncpg://127.0.0.1:5432/postgres"


def dms(n: int, tag: str) -> list[Notification]:
    return [
        Notification(
            "slack",
            "dm",
            f"U{i:06d}",
            f"bench:{tag}:{i}",
            {
                "type": "decision",
                "item": i,
                "status": "now",
                "title": f"Item {i}",
                "note": None,
                "by": "U0PM",
                "merged_into": None,
            },
        )
        for i in range(n)
    ]


def bulk(n: int, tag: str) -> list[Notification]:
    return [
        Notification(
            "slack",
            "post",
            "C0ANNOUNCE",
            f"bench:{tag}:bulk:{i}",
            {"type": "digest", "title": f"Change {i}", "lines": ["Widget Pro is now Available"]},
        )
        for i in range(n)
    ]


def make_worker(url: str, fake: FakeSlack) -> tuple[Worker, SqlOutbox, Any]:
    """A worker as `salesbridge worker` builds it: its own engine, client and gate."""
    engine = make_engine(url)
    outbox = SqlOutbox(engine)
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=CatalogService(SqlRepository(engine)),
        clock=SystemClock(),
        settings=Settings(),
    )
    client = GatedWebClient(token="xoxb-bench", base_url=fake.api_url, retry_handlers=[])
    client.gate = RateGate(outbox)
    notifier = SlackNotifier(client=client, feedback=feedback)
    return Worker(store=outbox, deliver=notifier.deliver), outbox, engine


async def drain(url: str, n: int, rate: float | None, workers: int = 1) -> tuple[float, int, int]:
    """Seconds to deliver n DMs, the number delivered, and the number of 429s seen."""
    fake = FakeSlack(rate_limit=rate)
    await fake.start()
    built = [make_worker(url, fake) for _ in range(workers)]
    await migrate.upgrade(built[0][2])
    outbox = built[0][1]
    await outbox.enqueue(notifications=dms(n, uuid.uuid4().hex[:6]))
    start = time.perf_counter()
    tasks = [asyncio.create_task(w.run_forever(idle=0.05)) for w, _, _ in built]
    while True:
        counts = await outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    for w, _, _ in built:
        w.stop()
    await asyncio.gather(*tasks)
    texts = Counter(c.body["text"] for c in fake.delivered("chat.postMessage"))
    assert len(texts) == n and set(texts.values()) == {1}, "lost or doubled messages"
    limited = sum(1 for c in fake.calls if c.status == 429)
    async with built[0][2].begin() as conn:  # the next scenario starts from an empty outbox
        await conn.execute(sa.text("DELETE FROM outbox"))
        await conn.execute(sa.text("DELETE FROM outbox_pause"))
    for _, _, engine in built:
        await engine.dispose()
    await fake.close()
    return elapsed, len(texts), limited


async def behind_bulk(url: str, n: int) -> tuple[float, int]:
    """Seconds from writing a decision DM behind n bulk digests (some already going out) to
    its arrival, and how many digests reached Slack in between."""
    fake = FakeSlack()
    await fake.start()
    worker, outbox, engine = make_worker(url, fake)
    await migrate.upgrade(engine)
    busy, arrived = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def watch(call: Call) -> None:
        if call.body.get("channel") == "U000000":
            seen.append(len(fake.calls) - 1)
            arrived.set()
        elif len(fake.calls) >= 50:  # the bulk lane is busy
            busy.set()

    fake.after_call = watch
    await outbox.enqueue(notifications=bulk(n, uuid.uuid4().hex[:6]))
    task = asyncio.create_task(worker.run_forever(idle=0.05))
    await busy.wait()
    [d] = dms(1, "urgent")
    urgent = Notification(d.platform, d.kind, d.target, d.dedupe_key, d.payload, Lane.INTERACTIVE)
    await outbox.enqueue(notifications=[urgent])
    start, sent_before = time.perf_counter(), len(fake.calls)
    worker.wake.set()
    await arrived.wait()
    elapsed = time.perf_counter() - start
    worker.stop()
    await task
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM outbox"))
    await engine.dispose()
    await fake.close()
    return elapsed, seen[0] - sent_before


async def pg_url() -> str | None:
    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            name = f"salesbridge_bench_{uuid.uuid4().hex[:8]}"
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    except Exception:
        return None
    finally:
        await admin.dispose()


async def drop(url: str) -> None:
    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(
            sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        )
    await admin.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--storm", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--bulk", type=int, default=3000)
    args = ap.parse_args()
    rows = [("database", "scenario", "messages", "seconds", "per second", "429s", "floor s")]
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")]
        pg = await pg_url()
        if pg:
            backends.append(("PostgreSQL", pg))
        for name, url in backends:
            secs, n, limited = await drain(url, args.messages, None)
            rows.append(
                (name, "unthrottled", str(n), f"{secs:.2f}", f"{n / secs:.0f}", str(limited), "-")
            )
            print(*rows[-1], sep=" | ", flush=True)  # each row as soon as it is measured
            secs, n, limited = await drain(url, args.storm, args.rate)
            rows.append(
                (
                    name,
                    f"429 storm ({args.rate:.0f}/s allowed)",
                    str(n),
                    f"{secs:.2f}",
                    f"{n / secs:.0f}",
                    str(limited),
                    f"{args.storm / args.rate:.0f}",
                )
            )
            secs, n, limited = await drain(url, args.storm, args.rate, workers=2)
            rows.append(
                (
                    name,
                    f"429 storm, 2 workers ({args.rate:.0f}/s allowed)",
                    str(n),
                    f"{secs:.2f}",
                    f"{n / secs:.0f}",
                    str(limited),
                    f"{args.storm / args.rate:.0f}",
                )
            )
            secs, before = await behind_bulk(url, args.bulk)
            rows.append(
                (
                    name,
                    f"decision DM behind {args.bulk} digests ({before} sent meanwhile)",
                    "1",
                    f"{secs:.2f}",
                    "-",
                    "0",
                    "-",
                )
            )
        if pg:
            await drop(pg)
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
