"""HTTP benchmark: signed `/product` slash commands over loopback against our server, and
against the floors set by the frameworks — a bare bolt AsyncApp that only acks, and a bare
aiohttp handler returning the same JSON.

Run:  .venv/bin/python -m bench.http [--requests 2000] [--rounds 3]

Each server runs in its own process on 127.0.0.1 (on ports free at the start: a server left
behind on a fixed port would otherwise be what is measured); the client sends requests at
1, 8 and 32 concurrent connections, in interleaved rounds; the table gives medians over the
rounds. Every request to our server asks a question it has not been asked before (the floors
do not read the text, so theirs may repeat).

Requests per second depend on everything else the machine runs, the client included; the
CPU columns do much less: the CPU time each server process itself used per request (Linux
/proc), and bare bolt's as a share of it ("CPU vs bolt", comparable with "vs bolt").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from bench import print_table
from bench.synthetic import typo
from bot.catalog_file import parse_catalog
from tests.fakes import SIGNING_SECRET, FakeSlack, sign

ROOT = Path(__file__).resolve().parent.parent


def query_mix() -> list[str]:
    """Thousands of distinct lookups over the demo catalog (names, aliases, SKUs, typos,
    the market first or last), so that no answer is simply repeated from a cache."""
    spec = parse_catalog((ROOT / "catalog" / "demo.yaml").read_text(encoding="utf-8"))
    markets = [w for r in spec.regions for w in (r.name, *r.aliases)]
    rng = random.Random(5)
    out: set[str] = set()
    for p in spec.products:
        for name in (p.name, *p.aliases, p.sku):
            for market in markets:
                for variant in range(TYPO_VARIANTS):
                    text = " ".join(
                        typo(w, rng) if variant and len(w) > 4 else w for w in name.lower().split()
                    )
                    out.add(
                        f"{market.lower()} {text}"
                        if rng.random() < 0.5
                        else f"{text} in {market.lower()}"
                    )
    mixed = sorted(out)
    rng.shuffle(mixed)
    return mixed


TYPO_VARIANTS = 8  # per name and market: the plain name, then typo'd versions
MIX = query_mix()


def body(i: int, text: str) -> str:
    return urllib.parse.urlencode(
        {
            "team_id": "T0",
            "channel_id": "C0",
            "user_id": f"U{i % 50:04d}",
            "command": "/product",
            "text": text,
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": "1.2.3",
        }
    )


async def wait_up(url: str, seconds: float = 120) -> None:
    # Generous: on a machine shared by several test runs a server has taken over 30 s to
    # start; a server that is up is answered at once, one that died is reported by callers.
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.post(url, data=b"") as r:
                    if r.status in (200, 401, 404, 405):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(
    url: str, concurrency: int, n: int, texts: Iterator[str]
) -> tuple[float, list[float]]:
    """Requests per second and per-request latencies (ms) for n signed commands."""
    payloads = [(b, sign(b)) for b in (body(i, next(texts)) for i in range(n))]
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            while not queue.empty():
                b, headers = queue.get_nowait()
                start = time.perf_counter()
                async with http.post(
                    url,
                    data=b,
                    headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                ) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return n / elapsed, latencies


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float | None:
    """CPU time the process's threads have used so far, in nanoseconds' resolution (the
    scheduler's own count; None where /proc does not have it)."""
    try:
        tasks = list(Path(f"/proc/{proc.pid}/task").iterdir())
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def start_servers(tmp: Path, api_url: str) -> dict[str, tuple[subprocess.Popen[bytes], str]]:
    db = tmp / "bench.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "LOG_LEVEL": "WARNING",
        # bolt calls auth.test once with a token: a fake Web API answers it.
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_API_URL": api_url,
        "PRODUCT_MANAGERS": "U0PM",
    }
    salesbridge = [sys.executable, "-m", "handlers.launch"]
    subprocess.run(
        [*salesbridge, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True
    )
    subprocess.run(
        [*salesbridge, "catalog", "import", "catalog/demo.yaml"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    ours, bolt, bare = free_port(), free_port(), free_port()
    servers = {
        "salesbridge": (
            [*salesbridge, "serve", "--host", "127.0.0.1", "--port", str(ours), "--no-worker"],
            ours,
        ),
        "bare bolt (ack only)": ([sys.executable, "-m", "bench._bare", "bolt", str(bolt)], bolt),
        "bare aiohttp": ([sys.executable, "-m", "bench._bare", "aiohttp", str(bare)], bare),
    }
    out = {}
    for name, (cmd, port) in servers.items():
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        out[name] = (proc, f"http://127.0.0.1:{port}/slack/events")
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    fake = FakeSlack()
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        servers = start_servers(Path(tmp), fake.api_url)
        try:
            for name, (proc, url) in servers.items():
                await wait_up(url)
                if proc.poll() is not None:  # another process answered on its port
                    sys.exit(f"{name} exited ({proc.returncode}) before it was measured")
            warm_up = 100
            needed = warm_up + args.requests * 3 * args.rounds
            if needed > len(MIX):
                sys.exit(f"{needed} requests would repeat questions: at most {len(MIX)}")
            # Our server's questions are never repeated; the floors ignore the text.
            texts = {name: iter(MIX) for name in servers}
            for name, (_, url) in servers.items():  # warm-up: index built, connections made
                await load(url, 8, warm_up, texts[name])
            results: dict[tuple[str, int], list[tuple[float, list[float]]]] = {}
            cpu: dict[tuple[str, int], list[float]] = {}
            for _ in range(args.rounds):
                for conc in (1, 8, 32):
                    for name, (proc, url) in servers.items():  # interleaved
                        before = cpu_seconds(proc)
                        results.setdefault((name, conc), []).append(
                            await load(url, conc, args.requests, texts[name])
                        )
                        after = cpu_seconds(proc)
                        if before is not None and after is not None:
                            cpu.setdefault((name, conc), []).append(
                                (after - before) / args.requests * 1e6
                            )
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=10)
            await fake.close()
    header = ("server", "connections", "req/s", "p50 ms", "p99 ms", "vs bolt", "vs aiohttp")
    rows = [(*header, "CPU µs/req", "CPU vs bolt")]
    bolt = "bare bolt (ack only)"
    for conc in (1, 8, 32):
        rps = {name: statistics.median(r for r, _ in results[(name, conc)]) for name in servers}
        used = {
            name: statistics.median(cpu[(name, conc)]) for name in servers if cpu.get((name, conc))
        }
        for name in servers:
            lat = [x for _, ls in results[(name, conc)] for x in ls]
            rows.append(
                (
                    name,
                    str(conc),
                    f"{rps[name]:.0f}",
                    f"{pct(lat, 50):.2f}",
                    f"{pct(lat, 99):.2f}",
                    f"{rps[name] / rps[bolt]:.0%}",
                    f"{rps[name] / rps['bare aiohttp']:.0%}",
                    f"{used[name]:.0f}" if name in used else "-",
                    f"{used[bolt] / used[name]:.0%}" if name in used and bolt in used else "-",
                )
            )
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
