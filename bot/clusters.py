"""Clusters: open items about the same need (same product, similar text) seen as one
picture, with their combined clients and revenue at stake, and what Merge all reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import matching
from bot.demand import revenue_text
from bot.items import Candidate, Item, Stake, combined_stakes, entries_of, revenue_of
from bot.types import UserRef

# Chosen on bench/cluster_set.py's labelled items (bench/clusters.py prints the sweep) for
# precision over recall: Merge all merges what the line counts, and a wrong merge costs a PM
# more than a missed one. README gives the figures.
CLUSTER_THRESHOLD = 75.0
CLUSTER_MAX = 10  # other items a card's cluster holds (and Merge all merges), most similar first

MERGE_ALL_LABEL = "Merge all into this"


def item_text(item: Item) -> str:
    """What the duplicate check and the clusters compare: the title and the details."""
    return f"{item.title} {item.details}"


def as_candidate(item: Item) -> Candidate:
    return Candidate(item.id, item_text(item), item.product_sku)


def members(anchor: Candidate, candidates: Sequence[Candidate]) -> list[tuple[int, float]]:
    """(id, score) of the candidates about the same need as `anchor`: the same product and
    text at least CLUSTER_THRESHOLD similar, most similar first, at most CLUSTER_MAX."""
    same = [c for c in candidates if c.product_sku == anchor.product_sku and c.id != anchor.id]
    scored = matching.similar_scores(anchor.text, [c.text for c in same], CLUSTER_THRESHOLD)
    return [(same[i].id, score) for i, score in scored[:CLUSTER_MAX]]


@dataclass(frozen=True, slots=True)
class Cluster:
    """An open item and the open items about the same need, seen together."""

    anchor: Item
    others: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return (self.anchor, *self.others)

    @property
    def stakes(self) -> tuple[Stake, ...]:
        """Every client once, at its largest deal per currency (as a merge would keep it)."""
        return combined_stakes(e for i in self.items for e in entries_of(i))

    @property
    def revenue(self) -> dict[str, int]:
        return revenue_of(self.stakes)

    @property
    def reps(self) -> tuple[UserRef, ...]:
        """The people behind the items: submitters and those who added a client."""
        seen: list[UserRef] = []
        for i in self.items:
            for p in (i.submitter, *(s.user for s in i.supporters)):
                if p not in seen:
                    seen.append(p)
        return tuple(seen)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cluster_line(cluster: Cluster) -> str:
    """'3 similar open items from 3 reps, $610,000 at stake: #12, #15 and this one'."""
    revenue = revenue_text(cluster.revenue)
    at_stake = f"{revenue} at stake" if cluster.revenue else revenue
    ids = ", ".join(f"#{i.id}" for i in cluster.others)
    return (
        f"{_count(len(cluster.items), 'similar open item')} from "
        f"{_count(len(cluster.reps), 'rep')}, {at_stake}: {ids} and this one"
    )


def merge_all_value(cluster: Cluster) -> str:
    """The press's value: the item merged into, then the items the card showed."""
    return f"{cluster.anchor.id}:" + ",".join(str(i.id) for i in cluster.others)


def parse_merge_all(raw: str) -> tuple[int, tuple[int, ...]] | None:
    """A press's value back, or None when it is not one (stale or forged)."""
    head, sep, rest = raw.partition(":")
    parts = rest.split(",") if rest else []
    if not sep or not _is_id(head) or not parts or len(parts) > CLUSTER_MAX:
        return None
    if not all(_is_id(p) for p in parts):
        return None
    return int(head), tuple(dict.fromkeys(int(p) for p in parts))


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) < 12


@dataclass(frozen=True, slots=True)
class MergedAll:
    """What a Merge all did: the items merged, and why each other one was left as it was."""

    target: int
    merged: tuple[int, ...]
    skipped: tuple[str, ...]  # one sentence per item left, naming it

    @property
    def text(self) -> str:
        if self.merged:
            ids = ", ".join(f"#{i}" for i in self.merged)
            head = f"Merged {ids} into #{self.target}."
        else:
            head = f"Nothing was merged into #{self.target}."
        return " ".join((head, *(f"Skipped: {why}" for why in self.skipped)))


def not_in_cluster(item_id: int) -> str:
    return f"#{item_id} is no longer an open item like this one."
