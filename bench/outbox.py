"""Outbox delivery benchmark: one worker against a fake Slack Web API on loopback.

Run:  .venv/bin/python -m bench.outbox [--messages 2000] [--storm 1000] [--rate 50]

1. Throughput: deliveries per second of one worker (batch 20, 8 sends in flight) draining
   N DMs against an unthrottled fake.
2. 429 storm: time to drain 1,000 DMs while the fake allows `rate` chat writes per second
   and answers every request beyond that with 429 and Retry-After: 1 (Slack's behaviour).
   The floor is messages / rate seconds. Every message must arrive exactly once.
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

import sqlalchemy as sa
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import create_async_engine

from bench import print_table
from bot.catalog import CatalogService
from bot.feedback import FeedbackService, Settings
from bot.outbox import Worker
from bot.ports import Notification, SystemClock
from handlers.slack.notifier import SlackNotifier
from store import migrate
from store.db import make_engine
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from store.repository import SqlRepository
from tests.fakes import FakeSlack

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


async def drain(url: str, n: int, rate: float | None) -> tuple[float, int, int]:
    """Seconds to deliver n DMs, the number delivered, and the number of 429s seen."""
    fake = FakeSlack(rate_limit=rate)
    await fake.start()
    engine = make_engine(url)
    await migrate.upgrade(engine)
    outbox = SqlOutbox(engine)
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=CatalogService(SqlRepository(engine)),
        clock=SystemClock(),
        settings=Settings(),
    )
    client = AsyncWebClient(token="xoxb-bench", base_url=fake.api_url, retry_handlers=[])
    worker = Worker(store=outbox, deliver=SlackNotifier(client=client, feedback=feedback).deliver)
    await outbox.enqueue(notifications=dms(n, uuid.uuid4().hex[:6]))
    start = time.perf_counter()
    task = asyncio.create_task(worker.run_forever(idle=0.05))
    while True:
        counts = await outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    worker.stop()
    await task
    texts = Counter(c.body["text"] for c in fake.delivered("chat.postMessage"))
    assert len(texts) == n and set(texts.values()) == {1}, "lost or doubled messages"
    limited = sum(1 for c in fake.calls if c.status == 429)
    await engine.dispose()
    await fake.close()
    return elapsed, len(texts), limited


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
        if pg:
            await drop(pg)
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
