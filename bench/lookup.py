"""Lookup benchmark: our prefiltered matcher vs brute-force rapidfuzz, thefuzz and difflib.

Run:  .venv/bin/python -m bench.lookup [--sizes 1000,10000,100000] [--queries 300]

For each catalog size it builds a deterministic synthetic catalog (names + aliases + SKUs)
and a typo query set, then measures every method in the same run, in interleaved rounds.
Latency is per query (p50/p99 over all timed calls); accuracy is top-1 / top-3 against
the product the query was made from, on the same queries for every method. The slow
baselines answer fewer queries at large sizes (the "timed calls" column says how many).
"""

from __future__ import annotations

import argparse
import difflib
import gc
import statistics
import time
from collections.abc import Callable

from rapidfuzz import fuzz, process
from rapidfuzz import utils as rf_utils
from thefuzz import process as tf_process

from bench import print_table
from bench.synthetic import Query, SynthProduct, make_catalog, make_queries
from bot.matching import ProductIndex, RegionLexicon, parse_query

Method = Callable[[str], list[int]]  # query -> product indexes, best first (up to 3)

REGIONS = [
    ("AU", ["Australia", "Oz", "AUS"]),
    ("UK", ["United Kingdom", "GB"]),
    ("DE", ["Germany", "Deutschland"]),
    ("US", ["United States", "USA"]),
    ("JP", ["Japan"]),
    ("BR", ["Brazil", "Brasil"]),
    ("CA", ["Canada"]),
    ("IN", ["India"]),
    ("FR", ["France"]),
]


def strings_of(products: list[SynthProduct]) -> tuple[list[str], list[int]]:
    choices: list[str] = []
    owner: list[int] = []
    for i, p in enumerate(products):
        for s in (p.name, *p.aliases, p.sku):
            choices.append(s)
            owner.append(i)
    return choices, owner


def dedupe(ids: list[int]) -> list[int]:
    seen: list[int] = []
    for i in ids:
        if i not in seen:
            seen.append(i)
    return seen[:3]


def methods(products: list[SynthProduct]) -> tuple[dict[str, Method], ProductIndex]:
    choices, owner = strings_of(products)
    index = ProductIndex([(i, (p.name, *p.aliases, p.sku)) for i, p in enumerate(products)])
    processed = [rf_utils.default_process(c) for c in choices]
    lower = [c.lower() for c in choices]
    where = {s: i for i, s in enumerate(lower)}
    first = {s: i for i, s in reversed(list(enumerate(choices)))}

    def ours(q: str) -> list[int]:
        return [m.key for m in index.search(q, limit=3)]

    def rapidfuzz_brute(q: str) -> list[int]:
        got = process.extract(
            rf_utils.default_process(q), processed, scorer=fuzz.WRatio, limit=6, processor=None
        )
        return dedupe([owner[i] for _, _, i in got])

    def thefuzz_brute(q: str) -> list[int]:
        return dedupe([owner[first[s]] for s, _ in tf_process.extract(q, choices, limit=6)])

    def difflib_brute(q: str) -> list[int]:
        got = difflib.get_close_matches(q.lower(), lower, n=6, cutoff=0.0)
        return dedupe([owner[where[s]] for s in got])

    return {
        "ours (prefilter + scorer)": ours,
        "rapidfuzz brute-force WRatio": rapidfuzz_brute,
        "thefuzz brute-force": thefuzz_brute,
        "difflib get_close_matches": difflib_brute,
    }, index


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# How many queries each method answers per round, and in how many rounds, by catalog size.
# Accuracy is always measured on the same first SHARED[size] queries for every method.
SHARED = {1_000: 300, 10_000: 100, 100_000: 40}
SLOW = {"thefuzz brute-force", "difflib get_close_matches"}


def plan(name: str, size: int, n_queries: int, rounds: int) -> tuple[int, int]:
    shared = min(n_queries, SHARED.get(size, 40))
    if name.startswith("ours"):
        return n_queries, rounds
    if name.startswith("rapidfuzz"):
        return (n_queries if size <= 10_000 else max(shared, 100)), rounds
    if name.startswith("difflib") and size >= 100_000:
        return shared, 1  # ~4 s a query
    return shared, rounds


def run(size: int, n_queries: int, rounds: int) -> list[tuple[str, ...]]:
    products = make_catalog(size)
    queries = make_queries(products, n_queries)
    t0 = time.perf_counter()
    table, index = methods(products)
    build_s = time.perf_counter() - t0
    lexicon = RegionLexicon(REGIONS)
    shared = min(n_queries, SHARED.get(size, 40))

    def full(q: Query) -> list[int]:
        return [m.key for m in parse_query(q.with_region, lexicon, index).matches]

    names = [*table, "ours, full query with market"]
    timings: dict[str, list[float]] = {name: [] for name in names}
    hits: dict[str, list[bool]] = {name: [] for name in names}
    hits3: dict[str, list[bool]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names:  # interleaved: every method once per round
            count, its_rounds = plan(name, size, n_queries, rounds)
            if r >= its_rounds:
                continue
            # Every pass starts cold: no word, search or market look-up memoised by an
            # earlier round or by the other "ours" method (the same questions repeated
            # would otherwise be answered from the memo).
            index.forget()
            lexicon.forget()
            gc.disable()
            for k, q in enumerate(queries[:count]):
                start = time.perf_counter()
                got = full(q) if name.startswith("ours, full") else table[name](q.text)
                timings[name].append((time.perf_counter() - start) * 1000)
                if r == 0 and k < shared:
                    hits[name].append(bool(got) and got[0] == q.truth)
                    hits3[name].append(q.truth in got[:3])
            gc.enable()
    rows = []
    for name in names:
        values = timings[name]
        rows.append(
            (
                f"{size:,}",
                name,
                f"{len(values)}",
                f"{statistics.median(values):.2f}",
                f"{pct(values, 99):.2f}",
                f"{100 * sum(hits[name]) / shared:.1f}%",
                f"{100 * sum(hits3[name]) / shared:.1f}%",
            )
        )
    print(
        f"# {size:,} products: index built in {build_s:.2f} s; accuracy on the same "
        f"{shared} queries for every method",
        flush=True,
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    header = ("products", "method", "timed calls", "p50 ms", "p99 ms", "top-1", "top-3")
    rows = [header]
    for size in (int(s) for s in args.sizes.split(",")):
        rows += run(size, args.queries, args.rounds)
    print_table(rows)


if __name__ == "__main__":
    main()
