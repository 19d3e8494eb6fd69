"""Duplicate check and merge targets against a growing history (run by hand).

Run:  .venv/bin/python -m bench.similarity [--items 10000 50000] [--rounds 5] [--no-brute]

Seeds each size of generated history (bench/feedback_set.py: half the items open, an eighth
not product-specific) into a fresh SQLite file, and into a throwaway PostgreSQL database
when 127.0.0.1:5432 answers, then times, medians of `rounds`:
- the duplicate check for one product and for feedback that is not product-specific
  (FeedbackService.similar_open) and merge targets (FeedbackService.merge_targets);
- for comparison, in the same run, scoring every open item as before the word index
  (open_items + matching.similar), once per size ("fails" where PostgreSQL refuses it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench import print_table
from bench.feedback_set import seed, variant, vocabulary
from bot import matching
from bot.catalog import CatalogService
from bot.feedback import SIMILAR_THRESHOLD, FeedbackService, Settings
from bot.items import Draft, Kind, Urgency
from bot.ports import SystemClock
from store import migrate
from store.db import make_engine
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository

PG_ADMIN = "postgresql+asyncpg://127.0.0.1:5432/postgres"


async def _median(rounds: int, call: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def run(url: str, items: int, rounds: int, brute: bool) -> dict[str, str]:
    engine = make_engine(url)
    await migrate.upgrade(engine)
    seeded = await seed(engine, items)
    repo = SqlFeedbackRepository(engine)
    svc = FeedbackService(
        repo=repo,
        catalog=CatalogService(SqlRepository(engine)),
        clock=SystemClock(),
        settings=Settings(),
    )
    rng = random.Random(3)
    vocab = vocabulary(3000, random.Random(17))
    names = dict(seeded.products)
    sku = seeded.products[0][0]
    _, _, text = next(t for t in seeded.texts if t[1] == sku)

    def drafted(product: str | None) -> Draft:
        return Draft(
            product, names.get(product or ""), Kind.FEATURE_REQUEST, "Acme", None, None, None,
            Urgency.NORMAL, variant(text, rng, vocab), None,
        )  # fmt: skip

    item = (await repo.items_by_ids(ids=[i for i, s, _ in seeded.texts[-400:] if s][-1:]))[0]
    out = {
        "dup check, one product": await _median(rounds, lambda: svc.similar_open(drafted(sku))),
        "dup check, not product-specific": await _median(
            rounds, lambda: svc.similar_open(drafted(None))
        ),
        "merge targets": await _median(rounds, lambda: svc.merge_targets(item)),
    }
    shown = {k: f"{v * 1000:.0f} ms" for k, v in out.items()}
    if brute:
        for label, product in (("one product", sku), ("not product-specific", None)):

            async def every_open(product: str | None = product) -> None:
                draft = drafted(product)
                pool = await repo.open_items(product_sku=product)
                matching.similar(
                    f"{draft.title} {draft.details}",
                    [f"{i.title} {i.details}" for i in pool],
                    SIMILAR_THRESHOLD,
                )

            try:
                took = await _median(1, every_open)
                shown[f"before: {label}"] = f"{took * 1000:.0f} ms"
            except Exception as exc:  # PostgreSQL: more parameters than it takes
                shown[f"before: {label}"] = f"fails ({type(exc).__name__})"
    await engine.dispose()
    return shown


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-brute", action="store_true")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for items in args.items:
        with tempfile.TemporaryDirectory() as tmp:
            got = await run(
                f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                items,
                args.rounds,
                not args.no_brute,
            )
        rows += [["sqlite", f"{items:,}", k, v] for k, v in got.items()]
        name = f"bench_similarity_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except Exception:
            await admin.dispose()
            continue  # no PostgreSQL here
        try:
            got = await run(
                PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", items, args.rounds, not args.no_brute
            )
            rows += [["postgresql", f"{items:,}", k, v] for k, v in got.items()]
        finally:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    print_table([["backend", "items", "operation", "median"], *rows])


if __name__ == "__main__":
    asyncio.run(main())
