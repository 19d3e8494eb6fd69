"""What a region search field offers as the user types (the product picker's choices come
from the product matcher, in bot.feedback)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.forms import Choice
from bot.matching import RegionLexicon, normalize, tokens_of
from bot.types import Region


def region_label(region: Region) -> str:
    return f"{region.name} ({region.code})"[:75]


def region_choices(
    regions: Mapping[str, Region], lexicon: RegionLexicon, query: str, limit: int
) -> list[Choice]:
    """Regions for a typed query, best first: the market the words name (as a question's
    market is read, typos included), then names, codes or aliases starting with the text,
    then those with a word starting with it, then those containing it. Nothing typed: the
    catalog's regions in its order. Every region is reachable, however many there are
    (Slack's static menus stop at 100 options)."""
    q = normalize(query)
    if not q:
        return [Choice(r.code, region_label(r)) for r in list(regions.values())[:limit]]
    ranked: dict[str, int] = {}
    words = tokens_of(query)
    for hit in lexicon.find(words):
        if hit.known and hit.end - hit.start == len(words):  # the whole text names it
            ranked.setdefault(hit.code, 0)
    for r in regions.values():
        rank = _rank(q, (r.name, r.code, *r.aliases))
        if rank is not None and rank < ranked.get(r.code, 99):
            ranked[r.code] = rank
    best = sorted(ranked, key=lambda code: ranked[code])[:limit]  # stable: catalog order
    return [Choice(code, region_label(regions[code])) for code in best if code in regions]


def _rank(q: str, labels: Iterable[str]) -> int | None:
    """1: a label starts with the text; 2: one of its words does; 3: it contains it."""
    best = None
    for label in labels:
        norm = normalize(label)
        if norm.startswith(q) or norm.replace(" ", "").startswith(q.replace(" ", "")):
            rank = 1
        elif any(word.startswith(q) for word in norm.split()):
            rank = 2
        elif q in norm:
            rank = 3
        else:
            continue
        best = rank if best is None else min(best, rank)
    return best
