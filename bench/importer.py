"""Catalog import and chat edit at 10k and 100k products, on SQLite and PostgreSQL.

Run:  .venv/bin/python -m bench.importer [--sizes 10000,100000] [--edits 7]
          [--databases sqlite,postgresql]

For each size and database (PostgreSQL when 127.0.0.1:5432 answers, in a database of its
own that is dropped afterwards), `salesbridge catalog import` is run as a separate
process, each time timed (wall clock and CPU) with its peak resident memory:
  first      into an empty catalog;
  unchanged  the same file again;
  1% changed one product in a hundred with another summary;
  one on top one new product at the top of the file (every other product moves down).
Then, in this process with the server's own services, a PM's chat edit of one product's
summary (form submitted, validated, announced, written, and the lookup index up to date)
is timed `--edits` times; the median is shown. The catalog is synthetic: names and SKUs
from bench.synthetic, four availability rules, two traits and an internal margin each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench import print_table
from bench.http import ROOT
from bench.synthetic import make_catalog
from bot.types import UserRef

PG_ADMIN = "postgresql+asyncpg://127.0.0.1:5432/postgres"
REGIONS = ["AU", "NZ", "JP", "SG", "IN", "UK", "DE", "FR", "US", "CA", "BR"]
STATUSES = ["available", "restricted", "not_available", "planned"]
PM = "U0BENCHPM"


def catalog_lines(n: int) -> list[str]:
    """The demo catalog's bands and regions, then n synthetic products (one item each)."""
    demo = (ROOT / "catalog" / "demo.yaml").read_text(encoding="utf-8")
    head = demo[: demo.index("\nproducts:")] + "\nproducts:\n"
    rng = random.Random(3)
    items = []
    for p in make_catalog(n):
        rules = ["      - {region: GLOBAL, status: available}"]
        for region in rng.sample(REGIONS, 3):
            status = rng.choice(STATUSES)
            when = ", from: 2027-04-01" if status == "planned" else ""
            rules.append(f"      - {{region: {region}, status: {status}{when}}}")
        aliases = ", ".join(f'"{a}"' for a in p.aliases)
        items.append(
            f"  - sku: {p.sku}\n"
            f'    name: "{p.name}"\n'
            f"    aliases: [{aliases}]\n"
            f"    lifecycle: ga\n"
            f"    pricing_band: {rng.choice('ABC')}\n"
            f'    summary: "{p.name} for teams."\n'
            f"    traits: [Fast, Secure]\n"
            f"    availability:\n" + "\n".join(rules) + "\n"
            f"    internal: {{margin_pct: {rng.randint(20, 70)}}}\n"
        )
    return [head, *items]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MB of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{cmd} exited with {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


async def chat_edits(url: str, sku: str, count: int) -> float:
    """Median seconds of a PM's edit of one product's summary, with the server's wiring."""
    from handlers.app import build_services
    from handlers.config import Settings

    services = build_services(
        Settings(database_url=url, product_managers=frozenset({PM}), log_level="WARNING")
    )
    try:
        await services.catalog.view()  # the index is built, as in a running server
        took = []
        for i in range(count):
            start = time.perf_counter()
            assert services.bot.editor is not None
            out = await services.bot.editor.submit(
                user=UserRef("slack", PM), sku=sku, values={"summary": f"Edited {i}"}
            )
            answer = await services.catalog.lookup(sku)  # the next asker sees the edit
            took.append(time.perf_counter() - start)
            assert f"Edited {i}" in repr(answer), (out, answer)
        return statistics.median(took)
    finally:
        await services.engine.dispose()


async def pg_database() -> str | None:
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
        name = url.rsplit("/", 1)[1]
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def run(n: int, backend: str, url: str, work: Path, edits: int) -> list[tuple[str, ...]]:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "handlers.launch"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    lines = catalog_lines(n)
    rng = random.Random(9)
    few = [
        lines[0],
        *(
            x.replace(" for teams.", " for everyone.") if rng.random() < 0.01 else x
            for x in lines[1:]
        ),
    ]
    top = [lines[0], "  - {sku: NEW-TOP, name: Brand New Product, lifecycle: ga}\n", *few[1:]]
    rows = []
    for label, text in (
        ("first", lines),
        ("unchanged", lines),
        ("1% changed", few),
        ("one on top", top),
    ):
        path = work / f"{backend}-{n}-{label.replace(' ', '_').replace('%', '')}.yaml"
        path.write_text("".join(text), encoding="utf-8")
        wall, cpu, rss = timed([*cli, "catalog", "import", str(path)], env)
        rows.append((f"{n:,}", backend, label, f"{wall:.1f}", f"{cpu:.1f}", f"{rss:.0f}"))
        print(rows[-1], flush=True)
        path.unlink()
    sku = lines[len(lines) // 2].split("sku: ", 1)[1].split("\n", 1)[0]
    median = await chat_edits(url, sku, edits)
    rows.append((f"{n:,}", backend, "chat edit", f"{median * 1000:.0f} ms", "", ""))
    print(rows[-1], flush=True)
    return rows


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--edits", type=int, default=7)
    ap.add_argument("--databases", default="sqlite,postgresql")
    args = ap.parse_args()
    rows = [("products", "database", "run", "wall s", "CPU s", "peak RSS MB")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in (int(x) for x in args.sizes.split(",")):
            if "sqlite" in args.databases:
                sqlite = f"sqlite+aiosqlite:///{work / f'{n}.db'}"
                rows += await run(n, "sqlite", sqlite, work, args.edits)
            url = await pg_database() if "postgresql" in args.databases else None
            if url is not None:
                try:
                    rows += await run(n, "postgresql", url, work, args.edits)
                finally:
                    await drop(url)
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
