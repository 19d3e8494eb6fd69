"""Precision and recall of clusters on a labelled set (run by hand).

Run:  .venv/bin/python -m bench.clusters [--seed 19] [--min 3] [--max 9]

Stores bench/cluster_set.py's labelled items (all open) in a fresh SQLite file through the
feedback store, asks FeedbackService.cluster_of for each item's cluster, as its triage card
does (word-index candidates, same product, CLUSTER_MAX kept), and counts each ordered pair
(item, another item) once: predicted together when the other is in the item's cluster, truly
together when both are about the same need. Then, for tuning, the same pairwise decisions
for a range of thresholds on the scores alone (no candidate prefilter, no cap).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import print_table
from bench.cluster_set import Labelled, labelled
from bot import clusters, matching
from bot.catalog import CatalogService
from bot.feedback import FeedbackService, Settings
from bot.items import Draft, Item, Kind, Urgency
from bot.ports import SystemClock
from bot.types import UserRef
from store import migrate
from store.db import make_engine
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Counts:
    """Pairwise decisions against the truth."""

    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, decisions: Iterable[tuple[bool, bool]]) -> Counts:
        """(predicted together, truly together) of each pair, counted."""
        tp = fp = fn = 0
        for predicted, truth in decisions:
            tp += predicted and truth
            fp += predicted and not truth
            fn += truth and not predicted
        return cls(tp, fp, fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def draft_of(x: Labelled) -> Draft:
    return Draft(
        x.product_sku, x.product_name, Kind.FEATURE_REQUEST, x.client, None, x.deal_value,
        x.deal_currency, Urgency.NORMAL, x.details, None,
    )  # fmt: skip


async def stored(url: str, items: Sequence[Labelled]) -> tuple[FeedbackService, list[Item]]:
    """The items in a migrated database, in order, and a service reading them."""
    engine = make_engine(url)
    await migrate.upgrade(engine)
    repo = SqlFeedbackRepository(engine)
    made = [
        await repo.create_item(
            draft=draft_of(x),
            submitter=UserRef("slack", x.rep),
            at=START + dt.timedelta(minutes=k),
            notifications=lambda _item: [],
        )
        for k, x in enumerate(items)
    ]
    svc = FeedbackService(
        repo=repo,
        catalog=CatalogService(SqlRepository(engine)),
        clock=SystemClock(),
        settings=Settings(),
    )
    return svc, made


async def measured(svc: FeedbackService, made: Sequence[Item], needs: Sequence[str]) -> Counts:
    """The cards' clusters, counted over ordered pairs."""
    need_of = {item.id: need for item, need in zip(made, needs, strict=True)}
    decisions: list[tuple[bool, bool]] = []
    for item in made:
        cluster = await svc.cluster_of(item)
        shown = {o.id for o in cluster.others} if cluster else set()
        decisions += [
            (other.id in shown, need_of[other.id] == need_of[item.id])
            for other in made
            if other.id != item.id
        ]
    return Counts.of(decisions)


def sweep(made: Sequence[Item], needs: Sequence[str], thresholds: Sequence[float]) -> list[Counts]:
    """The scores alone, at each threshold, over ordered pairs of one product (pairs of two
    products are never together, and never about one need in this set)."""
    texts = [matching.normalize(clusters.item_text(i)) for i in made]
    scored: list[tuple[float, bool]] = []
    for a, item in enumerate(made):
        for b, other in enumerate(made):
            if a != b and item.product_sku == other.product_sku:
                score = matching.similar_scores(texts[a], [texts[b]], 0.0)[0][1]
                scored.append((score, needs[a] == needs[b]))
    return [Counts.of((s >= th, t) for s, t in scored) for th in thresholds]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--min", type=int, default=3)
    parser.add_argument("--max", type=int, default=9)
    args = parser.parse_args()
    items = labelled(per_need=(args.min, args.max), seed=args.seed)
    needs = [x.need for x in items]
    with tempfile.TemporaryDirectory() as tmp:
        svc, made = await stored(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", items)
        got = await measured(svc, made, needs)
    print(f"{len(items)} items, {len(set(needs))} needs, threshold {clusters.CLUSTER_THRESHOLD:g}")
    print_table(
        [
            ["what", "precision", "recall", "F1"],
            ["cards' clusters", f"{got.precision:.3f}", f"{got.recall:.3f}", f"{got.f1:.3f}"],
        ]
    )
    print()
    thresholds = [50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 85.0, 90.0]
    rows = [["threshold", "precision", "recall", "F1"]]
    for th, c in zip(thresholds, sweep(made, needs, thresholds), strict=True):
        rows.append([f"{th:g}", f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}"])
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
