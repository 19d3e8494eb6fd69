"""Start-up and memory of `salesbridge serve` with 1k, 10k and 100k synthetic products.

Run:  .venv/bin/python -m bench.serve [--sizes 1000,10000,100000] [--workdir DIR]

For each size: a synthetic catalog file (names, aliases, SKUs, a few availability rules
each, internal fields) is imported into a fresh SQLite database; then `salesbridge serve`
is started and timed until GET /healthz answers (the match index is built before the port
opens), 200 signed lookups are sent, and the process's resident memory is read.

By default everything happens in a fresh temporary directory. With --workdir DIR the
databases are kept in DIR and a size whose import already finished there is not imported
again (its import time is then reported as "-"): for iterating on start-up and memory
without paying the 100k import (~70 s) on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

from bench import print_table
from bench.http import MIX, ROOT, load
from bench.synthetic import make_catalog
from tests.fakes import SIGNING_SECRET, FakeSlack

REGIONS = ["AU", "NZ", "JP", "SG", "IN", "UK", "DE", "FR", "US", "CA", "BR"]
STATUSES = ["available", "restricted", "not_available", "planned"]


def catalog_file(n: int, path: Path) -> None:
    rng = random.Random(3)
    base = yaml.safe_load((ROOT / "catalog" / "demo.yaml").read_text(encoding="utf-8"))
    products = []
    for p in make_catalog(n):
        rules = [{"region": "GLOBAL", "status": "available"}]
        for region in rng.sample(REGIONS, 3):
            rule = {"region": region, "status": rng.choice(STATUSES)}
            if rule["status"] == "planned":
                rule["from"] = "2027-04-01"
            rules.append(rule)
        products.append(
            {
                "sku": p.sku,
                "name": p.name,
                "aliases": list(p.aliases),
                "lifecycle": "ga",
                "pricing_band": rng.choice("ABC"),
                "summary": f"{p.name} for teams.",
                "traits": ["Fast", "Secure"],
                "availability": rules,
                "internal": {"margin_pct": rng.randint(20, 70)},
            }
        )
    base["products"] = products
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(n: int, tmp: Path, api_url: str) -> tuple[float | None, float, float]:
    db = tmp / f"s{n}.db"
    imported = tmp / f"s{n}.imported"  # written once the import has finished
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "LOG_LEVEL": "WARNING",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_API_URL": api_url,
    }
    cli = [sys.executable, "-m", "handlers.launch"]
    import_s: float | None = None
    if not imported.exists():
        db.unlink(missing_ok=True)
        file = tmp / f"catalog{n}.yaml"
        catalog_file(n, file)
        subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run(
            [*cli, "catalog", "import", str(file)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        import_s = time.perf_counter() - t0
        imported.touch()
    port = 38100 + n % 97
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError("serve exited")
                await asyncio.sleep(0.02)
        startup = time.perf_counter() - start
        await load(f"http://127.0.0.1:{port}/slack/events", 8, 200, iter(MIX))
        memory = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return import_s, startup, memory


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the databases here and reuse finished imports (default: a fresh temp dir)",
    )
    args = ap.parse_args()
    fake = FakeSlack()
    await fake.start()
    rows = [("products", "import s", "start-up to /healthz s", "RSS MB after 200 lookups")]
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            work = args.workdir
            work.mkdir(parents=True, exist_ok=True)
        for n in (int(x) for x in args.sizes.split(",")):
            imp, startup, memory = await measure(n, work, fake.api_url)
            shown = "-" if imp is None else f"{imp:.1f}"
            rows.append((f"{n:,}", shown, f"{startup:.2f}", f"{memory:.0f}"))
            print(rows[-1], flush=True)
    await fake.close()
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
