"""History at scale: feedback and briefings seeded into SQLite and PostgreSQL, the history
reads timed with the server's own services at each size.

Run:  .venv/bin/python -m bench.history [--sizes 1000,10000] [--big] [--rounds 3]
          [--databases sqlite,postgresql] [--skip-similar]

`--big` adds 50,000 and 100,000 items. Each size gets a fresh database (SQLite in a temporary
directory; PostgreSQL, when 127.0.0.1:5432 answers, a database of its own that is dropped
afterwards), migrated, the demo catalog imported and the history seeded by
bench.history_data (half of the items open; briefings: 500 at 1k items, 5,000 at 10k,
20,000 from 50k). Timed, median of `--rounds`: `/coverage last 365 days`, the App Home of a
product manager (mine and the queue) and of a sales person, the merge targets of an open
item, the duplicate check of a not product-specific and of a one-product submission, a
decision, and the ranked list of open feedback (`/feedback top`, all of it and one product
this quarter). The last column is how the largest size's time compares with the smallest's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import print_table
from bench.history_data import seed_history
from bench.http import ROOT
from bench.importer import drop, pg_database
from bot.demand import DemandReport
from bot.feedback import Action, Decided
from bot.items import Draft, Kind, Urgency
from bot.types import UserRef

DEMO = (ROOT / "catalog" / "demo.yaml").read_text(encoding="utf-8")
PM = "U0BENCHPM"
SALES = UserRef("slack", "U7")
BRIEFINGS = {1_000: 500, 10_000: 5_000}  # then 20,000
OPS = (
    "coverage, last 365 days",
    "App Home, product manager",
    "App Home, sales person",
    "merge targets",
    "duplicate check, not product-specific",
    "duplicate check, one product",
    "decision",
    "/feedback top",
    "/feedback top widget pro this quarter",
)


def _draft(sku: str | None) -> Draft:
    return Draft(
        sku, None, Kind.PROBLEM, "Acme", "AU", None, None, Urgency.NORMAL,
        "pricing export latency dashboard for the regional team", None,
    )  # fmt: skip


async def _median(rounds: int, op: Callable[[int], Awaitable[object]]) -> float:
    took = []
    for k in range(rounds):
        start = time.perf_counter()
        await op(k)
        took.append(time.perf_counter() - start)
    return statistics.median(took)


async def measure(url: str, items: int, rounds: int, similar: bool) -> dict[str, float]:
    from handlers.app import build_services
    from handlers.config import Settings
    from store import migrate

    services = build_services(
        Settings(database_url=url, product_managers=frozenset({PM}), log_level="WARNING")
    )
    try:
        await migrate.upgrade(services.engine)
        await services.catalog.import_catalog(DEMO)
        await services.catalog.view()  # the index is built, as in a running server
        start = time.perf_counter()
        await seed_history(services.engine, items=items, briefings=BRIEFINGS.get(items, 20_000))
        print(f"  seeded {items:,} items in {time.perf_counter() - start:.1f} s", flush=True)
        assert services.bot.coverage is not None  # the seeded year ends today, 2026-12-02
        feedback, coverage = services.feedback, services.bot.coverage
        pm = UserRef("slack", PM)
        waiting = (await feedback.home(pm, page=1)).queue or ()
        an_open = waiting[0]
        # New items (n % 10 == 0, 1, 2) to decide, one a round, never decided before.
        to_decide = [i for i in range(11, 11 + 10 * rounds, 10)]
        got: dict[str, float] = {}
        got[OPS[0]] = await _median(rounds, lambda _: coverage.report("last 365 days"))
        got[OPS[1]] = await _median(rounds, lambda _: feedback.home(pm))
        got[OPS[2]] = await _median(rounds, lambda _: feedback.home(SALES))
        if similar:
            got[OPS[3]] = await _median(rounds, lambda _: feedback.merge_targets(an_open))
            got[OPS[4]] = await _median(rounds, lambda _: feedback.similar_open(_draft(None)))
            got[OPS[5]] = await _median(rounds, lambda _: feedback.similar_open(_draft("WDG-PRO")))

        async def decide(k: int) -> None:
            out = await feedback.decide(user=pm, item_id=to_decide[k], action=Action.LATER)
            assert isinstance(out, Decided), out

        got[OPS[6]] = await _median(rounds, decide)
        bot = services.bot

        async def top(text: str) -> None:
            shown = await bot.handle(user=pm, command="feedback", text=text)
            assert isinstance(shown, DemandReport), shown

        got[OPS[7]] = await _median(rounds, lambda _: top("top"))
        got[OPS[8]] = await _median(rounds, lambda _: top("top widget pro this quarter"))
        return got
    finally:
        await services.engine.dispose()


def _shown(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--big", action="store_true", help="also 50,000 and 100,000 items")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--skip-similar", action="store_true", help="no merge targets or duplicates")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")] + ([50_000, 100_000] if args.big else [])
    for backend in args.databases.split(","):
        results: dict[int, dict[str, float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                print(f"{backend}, {n:,} items", flush=True)
                if backend == "sqlite":
                    results[n] = await measure(
                        f"sqlite+aiosqlite:///{Path(tmp) / f'{n}.db'}",
                        n, args.rounds, not args.skip_similar,
                    )  # fmt: skip
                    continue
                url = await pg_database()
                if url is None:
                    print("  PostgreSQL is not reachable: skipped")
                    break
                try:
                    results[n] = await measure(url, n, args.rounds, not args.skip_similar)
                finally:
                    await drop(url)
        if not results:
            continue
        done = list(results)
        rows = [("operation", *(f"{n:,} items" for n in done), f"{done[-1] // done[0]}× items")]
        for op in OPS:
            times = [results[n].get(op) for n in done]
            first, last = times[0], times[-1]
            growth = f"{last / first:.1f}×" if first and last else "—"
            rows.append((op, *(_shown(t) for t in times), growth))
        print(f"\n{backend}, median of {args.rounds}:\n")
        print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
