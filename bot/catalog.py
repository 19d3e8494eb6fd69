"""Availability rules (default-deny, most specific rule wins, lifecycle caps) and lookups."""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import time
import urllib.parse
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from bot import markets, matching, replies
from bot.catalog_file import CatalogError, CatalogSpec, ChangeSet, diff_catalogs, read_catalog
from bot.ports import CatalogRepository, ChangePreparer, Notification
from bot.replies import (
    LIFECYCLE_REASON,
    NO_COVERAGE,
    Ambiguous,
    Assessment,
    Battlecard,
    Capability,
    Difference,
    NotFound,
    Option,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    RegionRow,
    Reply,
    Rival,
    UnknownMarket,
)
from bot.segments import world_segments
from bot.types import Lifecycle, Region, Rule, SalesCatalog, SalesProduct, Segment, Status, Verdict

log = logging.getLogger(__name__)

_STATUS_VERDICT = {
    Status.AVAILABLE: Verdict.AVAILABLE,
    Status.NOT_AVAILABLE: Verdict.NOT_AVAILABLE,
    Status.RESTRICTED: Verdict.RESTRICTED,
    Status.PLANNED: Verdict.PLANNED,
    Status.WITHDRAWN: Verdict.WITHDRAWN,
}
# How far a verdict lets sales go; lifecycle caps compare on this scale.
_RANK = {
    Verdict.AVAILABLE: 3,
    Verdict.RESTRICTED: 2,
    Verdict.PLANNED: 1,
    Verdict.NOT_AVAILABLE: 0,
    Verdict.WITHDRAWN: 0,
}
_CAP = {
    Lifecycle.BETA: Verdict.RESTRICTED,
    Lifecycle.PILOT: Verdict.RESTRICTED,
    Lifecycle.SUNSET: Verdict.RESTRICTED,
    Lifecycle.ANNOUNCED: Verdict.PLANNED,
}
ALTERNATIVES = 3
REGION_LIST_LIMIT = 25


def region_path(regions: dict[str, Region], code: str) -> list[str]:
    """The region and its ancestors, most specific first (cycles cannot be imported)."""
    path: list[str] = []
    cur: str | None = code
    while cur is not None and cur in regions and cur not in path:
        path.append(cur)
        cur = regions[cur].parent
    return path


def _with_reason(lifecycle_reason: str, own: str | None) -> str:
    """The lifecycle's reason, keeping the product manager's own next to it."""
    return f"{lifecycle_reason}. {own}" if own and own != lifecycle_reason else lifecycle_reason


def assess(
    catalog: SalesCatalog, product: SalesProduct, region_code: str, segment: str | None = None
) -> Assessment:
    """The verdict rules (README "The rules", docs/ARCHITECTURE.md "The rules"), exactly:
    for a customer segment, the most specific rule for that segment on the region's path
    wins, else the general rules decide; default deny; the lifecycle cap applies last."""
    general: dict[str, Rule] = {}
    special: dict[str, Rule] = {}
    for r in product.rules:
        if r.segment is None:
            general[r.region] = r
        elif r.segment == segment:
            special[r.region] = r
    path = region_path(catalog.regions, region_code)
    deciding = None
    if special:
        deciding = next((special[c] for c in path if c in special), None)
    if deciding is None:
        deciding = next((general[c] for c in path if c in general), None)
    band_code = next(
        (general[c].pricing_band for c in path if c in general and general[c].pricing_band),
        product.pricing_band,
    )
    if deciding is not None and deciding.pricing_band:
        band_code = deciding.pricing_band
    band = catalog.bands.get(band_code) if band_code else None
    contact = (deciding.contact if deciding else None) or product.ask
    if product.lifecycle is Lifecycle.WITHDRAWN:
        kept = _with_reason(LIFECYCLE_REASON["withdrawn"], deciding.reason if deciding else None)
        return Assessment(Verdict.WITHDRAWN, kept, None, band, contact)
    if deciding is None:
        return Assessment(Verdict.NOT_AVAILABLE, NO_COVERAGE, None, band, contact)
    verdict = _STATUS_VERDICT[deciding.status]
    reason, from_date = deciding.reason, deciding.from_date
    cap = _CAP.get(product.lifecycle)
    if cap is not None and _RANK[verdict] > _RANK[cap]:
        verdict = cap
        reason = _with_reason(LIFECYCLE_REASON[product.lifecycle.value], reason)
    return Assessment(verdict, reason, from_date, band, contact)


def _ruled(product: SalesProduct, segment: str | None) -> set[str]:
    """The regions where a rule could change this product's verdict for `segment`."""
    return {r.region for r in product.rules if r.segment is None or r.segment == segment}


_Below = list[tuple[str, str, Assessment, Assessment]]  # code, parent code, verdicts


def _below(
    view: CatalogView, product: SalesProduct, root: str, segment: str | None, at_root: Assessment
) -> _Below:
    """Every region below `root` in tree order, with its parent and both verdicts. Only
    regions with a rule on the way down are assessed: the others inherit their parent's
    verdict object."""
    ruled = _ruled(product, segment)
    out: _Below = []
    stack = [(c, root, at_root) for c in reversed(view.children.get(root, ()))]
    while stack:
        code, up, parent = stack.pop()
        own = assess(view.catalog, product, code, segment) if code in ruled else parent
        out.append((code, up, own, parent))
        # A subtree with no rule in it inherits `own`: it need not be walked unless `own`
        # differs from the root's verdict (then every region in it differs, and is named).
        if (
            own.verdict is not at_root.verdict
            or code in ruled
            or not ruled.isdisjoint(view.subtree(code))
        ):
            stack.extend((c, code, own) for c in reversed(view.children.get(code, ())))
    return out


def differences(
    view: CatalogView,
    product: SalesProduct,
    region: Region,
    segment: Segment | None,
    at_region: Assessment,
) -> tuple[Difference, ...]:
    """What an answer about `region` must add to be the whole truth: every region below it
    whose verdict is not the region's, and any below an exception whose verdict turns
    back; when no segment was asked, also every segment whose verdict differs from the
    general one there (below the region too, unless an exception listed above it
    already says so)."""
    regions = view.catalog.regions
    seg_code = segment.code if segment else None
    out: list[Difference] = []
    below = _below(view, product, region.code, seg_code, at_region)
    for code, _up, own, parent in below:
        if own.verdict is not at_region.verdict or own.verdict is not parent.verdict:
            out.append(Difference(regions[code], None, own))  # the segment is the answer's
    if segment is not None:
        return tuple(out)
    general = {code: own for code, _up, own, _parent in below}
    general[region.code] = at_region
    for code_s in dict.fromkeys(r.segment for r in product.rules if r.segment):
        seg = view.catalog.segments.get(code_s)
        if seg is None:
            continue
        here = assess(view.catalog, product, region.code, seg.code)
        listed: set[str] = set()
        if here.verdict is not at_region.verdict:
            listed.add(region.code)
            out.append(Difference(region, seg, here, here=True))
        for code, up, own, parent in _below(view, product, region.code, seg.code, here):
            # Where the general walk stopped (no general rule below), it inherits.
            general.setdefault(code, general[up])
            implied = up in listed and own.verdict is parent.verdict
            turns_back = up in listed and own.verdict is not parent.verdict
            if (own.verdict is not general[code].verdict and not implied) or turns_back:
                listed.add(code)
                out.append(Difference(regions[code], seg, own))
    return tuple(out)


@dataclass
class CatalogView:
    """One catalog version with its search structures; shared by every request."""

    catalog: SalesCatalog
    products: matching.ProductIndex
    regions: matching.RegionLexicon
    top_level: tuple[str, ...]
    # The catalog's segments, and the kinds of customer it does not name (bot.segments).
    segments: matching.RegionLexicon | None = None
    by_sku: dict[str, SalesProduct] = field(default_factory=dict)
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)  # in file order
    _subtrees: dict[str, frozenset[str]] = field(default_factory=dict)
    _region_cache: dict[tuple[str, str | None], RegionOverview] = field(default_factory=dict)
    _answer_cache: dict[tuple[str, str, str | None], ProductAnswer] = field(default_factory=dict)
    _sellable_cache: dict[tuple[str, str | None], dict[str, Option]] = field(default_factory=dict)
    _likeness_cache: dict[str, tuple[array[int], bool]] = field(default_factory=dict)
    _competitors: tuple[matching.ProductIndex, list[str]] | None = None
    _traits: tuple[matching.ProductIndex, list[tuple[int, str]]] | None = None

    def competitors(self) -> tuple[matching.ProductIndex, list[str]]:
        """Competitor names (built on first use: most questions name our products)."""
        if self._competitors is None:
            names = list(
                dict.fromkeys(c.name for p in self.catalog.products for c in p.competitors)
            )
            self._competitors = (
                matching.ProductIndex([(i, (n,)) for i, n in enumerate(names)]),
                names,
            )
        return self._competitors

    def traits(self) -> tuple[matching.ProductIndex, list[tuple[int, str]]]:
        """Every product's traits and summary, one entry each (built on first use)."""
        if self._traits is None:
            lines = [
                (i, line)
                for i, p in enumerate(self.catalog.products)
                for line in (*p.traits, p.summary)
                if line
            ]
            self._traits = (
                matching.ProductIndex([(k, (line,)) for k, (_i, line) in enumerate(lines)]),
                lines,
            )
        return self._traits

    @classmethod
    def build(cls, catalog: SalesCatalog) -> CatalogView:
        index = matching.ProductIndex(
            [(i, (p.name, *p.aliases, p.sku)) for i, p in enumerate(catalog.products)]
        )
        lexicon = matching.RegionLexicon(
            ((r.code, (r.name, *r.aliases)) for r in catalog.regions.values()),
            world=markets.world_markets(),
        )
        segments = matching.RegionLexicon(
            ((s.code, (s.name, *s.aliases)) for s in catalog.segments.values()),
            world=world_segments(),
        )
        roots = [r.code for r in catalog.regions.values() if r.parent is None]
        if len(roots) == 1:
            top = tuple(r.code for r in catalog.regions.values() if r.parent == roots[0])
        else:
            top = tuple(roots)
        children: dict[str, list[str]] = {}
        for r in catalog.regions.values():
            if r.parent is not None:
                children.setdefault(r.parent, []).append(r.code)
        return cls(
            catalog,
            index,
            lexicon,
            top or tuple(roots),
            segments,
            by_sku={p.sku: p for p in catalog.products},
            children={k: tuple(v) for k, v in children.items()},
        )

    def subtree(self, code: str) -> frozenset[str]:
        """Every region strictly below `code` (memoised per catalog version)."""
        hit = self._subtrees.get(code)
        if hit is None:
            out: set[str] = set()
            stack = list(self.children.get(code, ()))
            while stack:
                c = stack.pop()
                out.add(c)
                stack.extend(self.children.get(c, ()))
            hit = self._subtrees[code] = frozenset(out)
        return hit


class CatalogService:
    """The lookup use case. Rebuilds its index only when the catalog version changes."""

    def __init__(
        self,
        repo: CatalogRepository,
        preparer: ChangePreparer | None = None,
        *,
        version_ttl: float = 1.0,
        after_build: Callable[[], object] | None = None,
    ) -> None:
        self._repo = repo
        # Called (in a worker thread) once a new catalog version replaced the old one, e.g.
        # to hand the memory freed by loading and indexing back to the operating system.
        self._after_build = after_build
        self._view: CatalogView | None = None
        self._lock = asyncio.Lock()
        # Announcements, history and verification of a change (bot/updates.py), if wired.
        self.preparer = preparer
        self.version_ttl = version_ttl
        self._checked_at = -1e9
        self._checking = False
        # Changes made through this process that the view may not show yet: the view is
        # built for `_built` of them, out of date while that is less than `_changed`.
        self._changed = 0
        self._built = 0

    async def view(self) -> CatalogView:
        """The catalog lookups are answered from: never older than a change made through
        this process; another process's change is seen within `version_ttl` seconds."""
        view = self._view
        if view is None or self._built != self._changed:
            return await self._rebuilt()  # known out of date: wait for the new one
        # Reading the version costs a database round trip: within `version_ttl` seconds of
        # the last read the view is reused, and while one request reads it the others go on.
        now = time.monotonic()
        if now - self._checked_at < self.version_ttl or self._checking:
            return view
        self._checking = True
        try:
            version = await self._repo.catalog_version()
        finally:
            self._checking = False
        self._checked_at = now
        if version != view.catalog.version:
            return await self._rebuilt(outdated=view)
        if self._view is view and self._built == self._changed:
            return view
        return await self.view()  # changed here meanwhile

    async def _rebuilt(self, outdated: CatalogView | None = None) -> CatalogView:
        """The view read again from the database, one rebuild at a time."""
        async with self._lock:
            changed = self._changed
            view = self._view
            if view is not None and view is not outdated and self._built == changed:
                return view  # rebuilt while this one waited
            version = await self._repo.catalog_version()
            self._checked_at = time.monotonic()
            if view is None or view.catalog.version != version:
                catalog = await self._repo.load_sales_catalog()
                # Index building is CPU work: keep it off the event loop.
                view = await asyncio.to_thread(CatalogView.build, catalog)
                if self._after_build is not None:
                    await asyncio.to_thread(self._after_build)
                log.info(
                    "catalog index built",
                    extra={"version": catalog.version, "products": len(catalog.products)},
                )
            if self._changed == changed:  # else changed here meanwhile: still out of date
                self._view, self._built = view, changed
            return view

    @property
    def version_seen(self) -> int:
        """The catalog version lookups are answered from now (0 before the first)."""
        return self._view.catalog.version if self._view is not None else 0

    async def lookup(self, text: str) -> Reply:
        view = await self.view()
        return answer_query(view, text)

    async def answer_for(
        self, *, sku: str, region_code: str, segment_code: str | None = None
    ) -> ProductAnswer | None:
        """The answer for one exact product, region and segment (e.g. a "Share in channel"
        click)."""
        view = await self.view()
        product = view.by_sku.get(sku)
        region = view.catalog.regions.get(region_code)
        segment = view.catalog.segments.get(segment_code) if segment_code else None
        if product is None or region is None or (segment_code and segment is None):
            return None
        return product_answer(view, product, region, segment)

    async def answer_asked(
        self, *, sku: str, asked: replies.Asked
    ) -> ProductAnswer | UnknownMarket | None:
        """The answer to every market and segment a press names, as the question that
        named them was answered (several_answer)."""
        view = await self.view()
        product = view.by_sku.get(sku)
        if product is None:
            return None
        return several_answer(
            view, product, asked.markets, asked.segments, asked.unknown, asked.untold
        )

    async def import_catalog(self, text: str, *, actor: str = "catalog import") -> ChangeSet:
        """Validate the whole file and apply what differs from the database in one go.

        Items the database holds from exactly the same text are not read again, and only
        the products read and those removed are loaded from the database."""
        stored = await self._repo.stored_index()
        known = {h: sku for sku, h in stored.hashes.items() if h}
        read = read_catalog(text, known=known, current=stored.header)
        in_file = set(read.skus)
        old = await self._repo.load_products(
            skus=[
                *(p.sku for p in read.spec.products if p.sku in stored.hashes),
                *(sku for sku in stored.hashes if sku not in in_file),
            ]
        )
        hashes = {
            sku: h
            for sku, h in zip(read.skus, read.hashes, strict=False)
            if stored.hashes.get(sku) != h
        }
        return await self.apply(
            old, read.spec, actor=actor, source="import", order=read.skus, hashes=hashes
        )

    async def product_spec(self, sku: str) -> CatalogSpec:
        """The regions and bands with this one product (internal fields included): what an
        edit of it needs, whatever the catalog's size."""
        return await self._repo.load_products(skus=[sku])

    async def apply(
        self,
        old: CatalogSpec,
        new: CatalogSpec,
        *,
        actor: str,
        source: str,
        extra: Sequence[Notification] = (),
        expected_version: int | None = None,
        order: Sequence[str] | None = None,
        hashes: Mapping[str, str] | None = None,
        change_set: str | None = None,
    ) -> ChangeSet:
        """The one change engine: imports and chat edits both end here. `old` and `new`
        hold the regions and bands and at least every product that may differ (a product
        in `old` only is removed). `extra` messages are written in the same transaction
        (e.g. telling a feedback submitter). `change_set` names the change in the history
        (see `change_set_made`)."""
        changes = diff_catalogs(old, new)
        if changes.empty:
            if hashes:
                await self._repo.remember_hashes(hashes=hashes)
            return changes
        prepared = None
        if self.preparer is not None:
            prepared = await self.preparer.prepare(
                old=old, new=new, changes=changes, actor=actor, source=source, change_set=change_set
            )
            if extra:
                prepared = dataclasses.replace(
                    prepared, notifications=(*prepared.notifications, *extra)
                )
        version = await self._repo.apply_catalog(
            spec=new,
            changes=changes,
            prepared=prepared,
            expected_version=expected_version,
            order=order,
            hashes=hashes,
        )
        view = self._view
        # Only a view showing every earlier change here can be patched; any other is rebuilt.
        current = view is not None and self._built == self._changed
        patched = _patched(view, changes, version) if current and view is not None else None
        self._changed += 1
        if patched is not None:
            self._view = patched  # this process sees its own edit at once, without a reload
            self._built = self._changed
        # Else every lookup from now on waits for the view to be read again.
        return changes

    async def catalog_version(self) -> int:
        return await self._repo.catalog_version()

    async def change_set_made(self, change_set: str) -> bool:
        return await self._repo.change_set_made(change_set=change_set)

    async def export_catalog(self) -> CatalogSpec:
        return await self._repo.load_catalog_spec()


__all__ = ["CatalogError", "CatalogService", "CatalogView", "answer_query", "assess"]

# Changes to these leave the match index (names, aliases, SKUs by position) as it is.
_INDEX_FIELDS = frozenset({"name", "aliases"})


def _patched(view: CatalogView, changes: ChangeSet, version: int) -> CatalogView | None:
    """`view` with the changed products replaced, as version `version`, when that is all
    that changed since the view's version (a chat edit); None when it needs a rebuild."""
    if (
        view.catalog.version != version - 1
        or changes.added
        or changes.removed
        or changes.regions_changed
        or changes.bands_changed
        or changes.segments_changed
        or any(_INDEX_FIELDS.intersection(c.fields) or c.after is None for c in changes.changed)
    ):
        return None
    replaced = {c.sku: c.after for c in changes.changed if c.after is not None}
    products = tuple(replaced.get(p.sku, p) for p in view.catalog.products)
    by_sku = dict(view.by_sku)
    by_sku.update(replaced)
    # Caches are per version (answers and alternatives depend on every product); what
    # only the regions and segments decide is kept, and every answer needs it.
    return CatalogView(
        dataclasses.replace(view.catalog, version=version, products=products),
        view.products,
        view.regions,
        view.top_level,
        view.segments,
        by_sku=by_sku,
        children=view.children,
        _subtrees=view._subtrees,
    )


def _option(
    view: CatalogView, product: SalesProduct, region: Region, segment: str | None = None
) -> Option:
    return Option(product, assess(view.catalog, product, region.code, segment))


def _listed(
    view: CatalogView, product: SalesProduct, region: Region | None, segment: Segment | None
) -> Option:
    """A product listed as one of a few choices, with its exceptions below `region`: an
    option in a parent region never reads a bare verdict its markets contradict."""
    if region is None:
        return Option(product, None)
    a = assess(view.catalog, product, region.code, segment.code if segment else None)
    return Option(product, a, differences(view, product, region, segment, a))


SMALL_CATALOG = 5000  # up to this size every product is a candidate alternative
# How much of a product's likeness ranking is kept: the first few sellable products in a
# market are nearly always among them (4 bytes each, so at most ~5 MB at SMALL_CATALOG).
LIKENESS_KEPT = 256


def _likeness_text(p: SalesProduct) -> str:
    return " ".join((p.name, *p.traits, p.summary))


def alternatives(
    view: CatalogView, product: SalesProduct, region: Region, segment: Segment | None = None
) -> tuple[Option, ...]:
    """Sellable products in the region (for the segment asked about) that are closest to
    `product` (name, traits, family), each with its exceptions below the region: an
    alternative is offered with the whole truth, like the answer it is part of. Not
    memoised itself: product_answer, its one caller, keeps the whole answer."""
    chosen = _closest_sellable(view, product, ((region, segment.code if segment else None),))
    return tuple(_listed(view, o.product, region, segment) for o in chosen)


def alternatives_everywhere(
    view: CatalogView,
    product: SalesProduct,
    regions: Sequence[Region],
    segs: Sequence[Segment | None],
) -> tuple[Option, ...]:
    """The alternatives of an answer naming several markets and/or segments: only products
    sellable in every named (market, segment) combination, each with its most restrictive
    verdict among them and every other one listed (as a list of choices shows them), those
    sellable freely first. One sellable in some of the markets only is not offered: it
    would not stand in for the product where the question needs it."""
    combos = [(r, s.code if s else None) for r in regions for s in segs]
    chosen = _closest_sellable(view, product, combos)
    codes = [r.code for r in regions]
    seg_codes = [s.code for s in segs if s is not None]
    listed = _several_options(view, [o.product for o in chosen], codes, seg_codes, ())
    return tuple(
        sorted(
            listed,
            key=lambda o: o.assessment is None or o.assessment.verdict is not Verdict.AVAILABLE,
        )
    )


def _closest_sellable(
    view: CatalogView, product: SalesProduct, combos: Sequence[tuple[Region, str | None]]
) -> tuple[Option, ...]:
    """The products closest to `product` that are sellable in every (market, segment) of
    `combos`, each with its verdict in the first."""
    catalog = view.catalog
    region, segment = combos[0]
    if len(catalog.products) > SMALL_CATALOG:
        # Large catalogs: only the product's name neighbours are considered.
        keys = [m.key for m in view.products.search(product.name, limit=60, candidates=120)]
        pool = [catalog.products[k] for k in keys if catalog.products[k].sku != product.sku]
        options = [_option(view, p, region, segment) for p in pool]
        sellable = [
            o
            for o in options
            if o.assessment
            and o.assessment.verdict.sellable
            and all(assess(catalog, o.product, r.code, s).verdict.sellable for r, s in combos[1:])
        ]
        order = matching.closest_products(
            product.name,
            _likeness_text(product),
            [(o.product.name, _likeness_text(o.product)) for o in sellable],
            ALTERNATIVES,
        )
        return tuple(sellable[i] for i in order)
    # Small catalogs: the closest sellable products are the first sellable ones of the
    # product's likeness ranking over the whole catalog (closest_products scores each
    # candidate on its own and sorts stably, so ranking all and then keeping the sellable
    # ones orders them exactly as ranking the sellable ones would). The ranking (per
    # product) and what is sellable (per region) are then worked out once per catalog
    # version instead of once per product and market.
    sellable_here = _sellable_in(view, region, segment)
    if len(combos) > 1:
        everywhere = [_sellable_in(view, r, s) for r, s in combos[1:]]
        sellable_here = {
            sku: o for sku, o in sellable_here.items() if all(sku in e for e in everywhere)
        }
    kept, complete = _likeness(view, product)
    out = _first_sellable(view, kept, sellable_here)
    if len(out) < ALTERNATIVES and not complete:
        # Rare: too few sellable here among the kept best; the whole ranking decides.
        out = _first_sellable(view, _rank_likeness(view, product), sellable_here)
    return out


def _first_sellable(
    view: CatalogView, ranking: Sequence[int], sellable: dict[str, Option]
) -> tuple[Option, ...]:
    out: list[Option] = []
    for i in ranking:
        option = sellable.get(view.catalog.products[i].sku)
        if option is not None:
            out.append(option)
            if len(out) == ALTERNATIVES:
                break
    return tuple(out)


def _sellable_in(view: CatalogView, region: Region, segment: str | None) -> dict[str, Option]:
    cached = view._sellable_cache.get((region.code, segment))
    if cached is None:
        options = (_option(view, p, region, segment) for p in view.catalog.products)
        cached = view._sellable_cache[(region.code, segment)] = {
            o.product.sku: o for o in options if o.assessment and o.assessment.verdict.sellable
        }
    return cached


def _likeness(view: CatalogView, product: SalesProduct) -> tuple[array[int], bool]:
    """The first LIKENESS_KEPT of `product`'s likeness ranking, and whether that is all of
    it; once per product and catalog version (the whole ranking would cost memory that
    grows with the square of the catalog)."""
    cached = view._likeness_cache.get(product.sku)
    if cached is None:
        ranking = _rank_likeness(view, product)
        cached = (array("I", ranking[:LIKENESS_KEPT]), len(ranking) <= LIKENESS_KEPT)
        view._likeness_cache[product.sku] = cached
    return cached


def _rank_likeness(view: CatalogView, product: SalesProduct) -> list[int]:
    """Catalog positions of the products that could stand in for `product`, best first."""
    products = view.catalog.products
    others = [i for i, p in enumerate(products) if p.sku != product.sku]
    order = matching.closest_products(
        product.name,
        _likeness_text(product),
        [(products[i].name, _likeness_text(products[i])) for i in others],
        len(others),
    )
    return [others[k] for k in order]


def product_answer(
    view: CatalogView, product: SalesProduct, region: Region, segment: Segment | None = None
) -> ProductAnswer:
    """Cached per catalog version: the answer (before the asker's
    verification details) depends on the catalog only, and the same one object is handed
    out each time, which lets renderers memoise on it."""
    key = (product.sku, region.code, segment.code if segment else None)
    cached = view._answer_cache.get(key)
    if cached is None:
        if len(view._answer_cache) > 50_000:
            view._answer_cache.clear()
        a = assess(view.catalog, product, region.code, segment.code if segment else None)
        alts: tuple[Option, ...] = ()
        if a.verdict is not Verdict.AVAILABLE:
            # The closest few, those sales can sell freely before those needing approval.
            alts = tuple(
                sorted(
                    alternatives(view, product, region, segment),
                    key=lambda o: (
                        o.assessment is None or o.assessment.verdict is not Verdict.AVAILABLE
                    ),
                )
            )
        diffs = differences(view, product, region, segment, a)
        cached = view._answer_cache[key] = ProductAnswer(
            product, region, a, alts, segment=segment, differences=diffs
        )
    return cached


def region_overview(
    view: CatalogView, region: Region, segment: Segment | None = None
) -> RegionOverview:
    """What is sellable in `region` (to `segment`'s customers, when one is asked about)."""
    key = (region.code, segment.code if segment else None)
    cached = view._region_cache.get(key)
    if cached is not None:
        return cached
    count = 0

    def sellable() -> Iterator[Option]:
        nonlocal count
        for p in view.catalog.products:
            o = _option(view, p, region, key[1])
            if o.assessment and o.assessment.verdict.sellable:
                count += 1
                yield o

    # Only the listed few are kept (nsmallest is sorted()[:n], ties in catalog order): a
    # large catalog would otherwise hold an assessment per product at once, a peak the
    # allocator keeps after the answer is cached.
    listed = heapq.nsmallest(
        REGION_LIST_LIMIT,
        sellable(),
        key=lambda o: (
            o.assessment is None or o.assessment.verdict is not Verdict.AVAILABLE,
            o.product.name,
        ),
    )
    out = RegionOverview(region, tuple(listed), count, segment)
    view._region_cache[key] = out
    return out


def product_overview(view: CatalogView, product: SalesProduct) -> ProductOverview:
    rows = []
    for c in view.top_level:
        region = view.catalog.regions[c]
        a = assess(view.catalog, product, c)
        rows.append(RegionRow(region, a, differences(view, product, region, None, a)))
    return ProductOverview(product, tuple(rows))


VERSUS = frozenset({"vs", "versus", "against"})
CAPABILITIES_LISTED = 8
# A product match below this (and not exact) is weak enough to look at capabilities too;
# one of those wins when it scores CAPABILITY_MARGIN more.
CAPABILITY_GATE = 86.0
CAPABILITY_MARGIN = 8.0


def battlecard(
    view: CatalogView, query: str, region: Region | None, *, strict: bool = False
) -> Battlecard | None:
    """Our products against the competitor `query` names (its family too: "Gizmotron"
    brings "Gizmotron Go"), with their verdicts in `region`. strict: only a clear match
    (a competitor's name asked alone, where a product was not found)."""
    index, names = view.competitors()
    found = index.search(query, limit=12)
    if not found or found[0].score < (matching.MATCH_THRESHOLD if not strict else 85.0):
        return None
    top = found[0]
    family = matching.tokens_of(names[top.key])[:1]
    wanted = {
        names[m.key]
        for m in found
        if m.score >= top.score - matching.AMBIGUITY_MARGIN
        or (m.score >= matching.MATCH_THRESHOLD and matching.tokens_of(names[m.key])[:1] == family)
    }
    rivals = [
        Rival(_listed(view, p, region, None), f"vs {c.name}: {c.difference}")
        for p in view.catalog.products
        for c in p.competitors
        if c.name in wanted
    ]
    return Battlecard(names[top.key], region, tuple(rivals))


def capability(
    view: CatalogView, query: str, region: Region | None, segment: Segment | None = None
) -> tuple[Capability, float] | None:
    """Products whose traits or summary have what `query` asks for, best first (and how
    well the best one matched), with their verdicts in `region` (for `segment`)."""
    index, lines = view.traits()
    found = index.search(query, limit=40, candidates=120)
    if not found or found[0].score < matching.MATCH_THRESHOLD:
        return None
    floor = max(matching.MATCH_THRESHOLD, found[0].score - 12.0)
    seen: dict[int, str] = {}
    for m in found:
        if m.score >= floor:
            i, line = lines[m.key]
            seen.setdefault(i, line)
    picked = list(seen.items())[:CAPABILITIES_LISTED]
    options = tuple(_listed(view, view.catalog.products[i], region, segment) for i, _ in picked)
    lines_found = tuple(line for _i, line in picked)
    return Capability(query, region, options, lines_found, segment), found[0].score


def _capability_asked(
    view: CatalogView,
    parsed: matching.ParsedQuery,
    region: Region | None,
    segment: Segment | None,
    chosen: bool,
) -> tuple[Capability | ProductAnswer | UnknownMarket, float] | None:
    """A capability question, with every market and segment it names ("saml germany
    france", "sso for banks in germany and france"): each product found with its most
    restrictive verdict among them and every other one listed, as a list of choices shows
    them; never one market's verdict as the whole truth. Markets the catalog lacks are Not
    available there (default deny). chosen: the question's words chose products (the
    product's answer reads every market itself)."""
    text = parsed.product_text
    more = _named_more(view, text.split())
    codes = list(dict.fromkeys(([region.code] if region else []) + more.markets))
    segs = list(dict.fromkeys(([segment.code] if segment else []) + more.segments))
    unknown = list(dict.fromkeys(([parsed.unknown] if parsed.unknown else []) + more.unknown))
    rest = " ".join(w for w in more.left if w not in _JOINERS)
    several = len(codes) + len(unknown) > 1 or len(segs) > 1 or (unknown and not codes)
    plain = capability(view, text, region, segment)
    if not several:
        return plain
    catalog = view.catalog
    found = capability(view, rest, None) if rest else None
    if found is not None:
        # The same words may name a product better ("widget pro france austria", "sso for
        # banks in germany and france"): then the product's answer, which reads every
        # market too, is what was asked.
        rivals = matching.pick(view.products.matches(rest))[0]
        rival = 0.0 if not rivals else 101.0 if rivals[0].exact else rivals[0].score
        if found[1] <= rival + CAPABILITY_MARGIN:
            if chosen or len(rivals) != 1:
                return None
            # Found by the words left once the markets are read, as sales type them.
            answer = several_answer(view, catalog.products[rivals[0].key], codes, segs, unknown)
            return answer, rival
    if found is None or (plain is not None and plain[1] > found[1]):
        # The words found more with the market words in: the products they found, still
        # answered in every market named.
        found = plain
    if found is None:
        return None
    options = _several_options(view, [o.product for o in found[0].options], codes, segs, unknown)
    markets = tuple(catalog.regions[c].name for c in codes) + tuple(unknown)
    seg_names = tuple(catalog.segments[s].name for s in segs)
    reply = Capability(
        rest or found[0].query,
        catalog.regions[codes[0]] if codes else None,
        options,
        found[0].matched,
        catalog.segments[segs[0]] if len(segs) == 1 else None,
        markets if len(markets) > 1 or unknown else (),
        seg_names if len(seg_names) > 1 else (),
    )
    return reply, found[1]


def _unknown(product: SalesProduct) -> Assessment:
    """A product's verdict in a market the catalog lacks: default deny."""
    return Assessment(Verdict.NOT_AVAILABLE, NO_COVERAGE, None, None, product.ask)


WIDE_SEARCH = 1000  # products counted when a word many share fills the list of choices


def _as_close(view: CatalogView, parsed: matching.ParsedQuery, chosen: list[matching.Match]) -> int:
    """How many products match as well as those chosen: a query's search stops at its
    limit, so a full list is counted again: the products named by every word asked for, or
    (for a misspelt word) those a wider search finds as close."""
    if len(chosen) < matching.SEARCH_LIMIT:
        return len(chosen)
    text = parsed.product_text
    wide = view.products.search(text, limit=WIDE_SEARCH, candidates=WIDE_SEARCH, normalized=True)
    return max(len(chosen), len(matching.pick(wide)[0]), view.products.with_words(text))


def answer_query(view: CatalogView, text: str) -> Reply:
    parsed = matching.parse_query(text, view.regions, view.products, view.segments)
    region = view.catalog.regions.get(parsed.region) if parsed.region else None
    segment = view.catalog.segments.get(parsed.segment) if parsed.segment else None
    head, _, rest = parsed.product_text.partition(" ")
    if head in VERSUS and rest:
        card = battlecard(view, rest, region)
        return card or NotFound(parsed.product_text, region, ())
    if not parsed.product_text:
        if region is not None:
            return region_overview(view, region, segment)
        if parsed.unknown is not None:
            return UnknownMarket(parsed.unknown, None)
        return NotFound(text.strip(), None, ())
    chosen, suggestions = matching.pick(parsed.matches)
    products = view.catalog.products
    best = 0.0 if not chosen else 101.0 if chosen[0].exact else chosen[0].score
    named = None
    if best < CAPABILITY_GATE or len(chosen) > 1:
        # Not one product clearly: the words may name further markets or segments
        # ("widget germany france"); only such questions pay for reading them.
        narrowed = _narrowed(view, parsed)
        if narrowed is not None:
            parsed, named = narrowed
            chosen, suggestions = matching.pick(parsed.matches)
            best = 101.0 if chosen[0].exact else chosen[0].score
    if best < CAPABILITY_GATE and named is None:
        # Not clearly one of our products by name: perhaps a competitor's, or a capability.
        card = None if chosen else battlecard(view, parsed.product_text, region, strict=True)
        if card is not None:
            return card
        found = _capability_asked(view, parsed, region, segment, bool(chosen))
        if found is not None and found[1] > best + (CAPABILITY_MARGIN if chosen else 0.0):
            return found[0]
    if not chosen:
        return NotFound(
            parsed.product_text, region, tuple(products[m.key].name for m in suggestions)
        )
    if len(chosen) > 1 and named is not None:
        return _several_choices(view, parsed, chosen, region, segment, named)
    if len(chosen) > 1:
        options = tuple(
            Option(products[m.key], _unknown(products[m.key]))
            if parsed.unknown and region is None
            else _listed(view, products[m.key], region, segment)
            for m in chosen
        )
        total = _as_close(view, parsed, chosen)
        return Ambiguous(parsed.product_text, region, options, total, segment, parsed.unknown)
    product = products[chosen[0].key]
    if not chosen[0].exact or named is not None:
        # Words the product's name does not explain may name further markets or segments
        # ("widget pro germany france", "widget pro banks government"): only such
        # questions pay for reading them.
        several = _several(view, parsed, chosen[0], product, region, segment, named, text)
        if several is not None:
            return several
    if parsed.unknown is not None:
        return UnknownMarket(parsed.unknown, product, segment)
    if region is None and not chosen[0].exact:
        # Words the product's name does not explain ("narnia widget pro") may be a market
        # nobody knows: never answer as if no market had been asked.
        extra = matching.unexplained(parsed.product_text, chosen[0].matched)
        if extra:
            # The product is what the other words name ("narnia widget": every Widget).
            unread = set(extra.split())
            rest = " ".join(w for w in parsed.product_text.split() if w not in unread)
            again = matching.pick(view.products.search(rest, normalized=True))[0] if rest else []
            if len(again) > 1:
                options = tuple(Option(products[m.key], _unknown(products[m.key])) for m in again)
                return Ambiguous(rest, None, options, len(again), segment, extra)
            if again:
                product = products[again[0].key]
            return UnknownMarket(extra, product, segment, known_elsewhere=False)
    if region is None:
        if segment is not None:  # "widget pro banks": everywhere, for that segment
            root = view.catalog.regions[next(iter(view.catalog.regions))]
            return product_answer(view, product, root, segment)
        return product_overview(view, product)
    return product_answer(view, product, region, segment)


class _Named(NamedTuple):
    """The further markets (codes), markets the catalog lacks (names) and segments (codes)
    some words name, and the words left that name none of them."""

    markets: list[str]
    unknown: list[str]
    segments: list[str]
    left: list[str]


def _named_more(
    view: CatalogView, words: list[str], keep: Callable[[str], bool] | None = None
) -> _Named:
    """What `words` name, each span of words read once (the longest, best reading first).
    keep: a span is read only when every word of it passes (e.g. no product word)."""
    hits = [(h, False) for h in view.regions.find(words)]
    if view.segments is not None:
        hits += [(h, True) for h in view.segments.find(words)]
    hits.sort(key=lambda hs: (hs[0].start - hs[0].end, -hs[0].score))
    got = _Named([], [], [], [])
    taken: set[int] = set()
    for h, is_segment in hits:
        span = set(range(h.start, h.end))
        if span & taken or any(words[i] in matching.CONNECTORS for i in span):
            continue
        if keep is not None and not all(keep(words[i]) for i in span):
            continue
        taken |= span
        if is_segment:
            # A kind of customer the catalog names no segment for is the general answer.
            if h.known:
                got.segments.append(h.code)
        elif h.known:
            got.markets.append(h.code)
        else:
            got.unknown.append(h.code)
    got.left.extend(
        w
        for i, w in enumerate(words)
        if i not in taken and w not in matching.CONNECTORS and w not in matching.FILLER
    )
    return got


# "and", "or", "both": joining the markets a question names, never a market themselves.
_JOINERS = frozenset({"and", "or", "both", "nor", "also", "plus"})


def _narrowed(
    view: CatalogView, parsed: matching.ParsedQuery
) -> tuple[matching.ParsedQuery, _Named] | None:
    """The question with the further markets and segments its product words name taken
    out ("widget germany france": Widget, in Germany and France), when what is left still
    names products; only words no product name has are read so ("Japan Connector")."""
    words = parsed.product_text.split()
    if all(view.products.knows(w) for w in words):
        return None  # every word may be a product's (a typo too): none is read as a market
    found = _named_more(view, words, keep=lambda w: not view.products.knows(w))
    if not (found.markets or found.unknown or found.segments):
        return None
    rest = " ".join(w for w in found.left if w not in _JOINERS)
    matches = view.products.matches(rest) if rest else ()
    if not matching.pick(matches)[0]:
        return None
    return parsed._replace(product_text=rest, matches=matches), found


def _gibberish(view: CatalogView, words: list[str], question: str) -> str | None:
    """Words left after the product, markets and segments are read that no product name
    has either and that stand in the list of markets ("widget pro germany narnia",
    "widget pro narnia and france"): a market nobody knows, said as such. A word set apart
    from the markets ("widget pro payload in australia") is noise, not a market."""
    left = [w for w in words if w not in _JOINERS]
    if not left or not all(w.isalpha() and not view.products.knows(w) for w in left):
        return None
    tokens = matching.tokens_of(question)
    marketish = {
        i
        for h in view.regions.find(tokens)
        for i in range(h.start, h.end)
        if tokens[i] not in matching.FILLER and tokens[i] not in matching.CONNECTORS
    }
    for i, w in enumerate(tokens):
        if w not in left:
            continue
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(tokens) and tokens[j] in _JOINERS:
                j += step
            if j in marketish:
                return " ".join(left)
    return None


def _fitted(sku: str, codes: list[str], segs: list[str], unknown: list[str]) -> replies.Asked:
    """What the question named, as much of it as one press's value can carry (question
    order kept; the markets left out are counted and said so in the answer)."""
    size = len(replies.Asked((), (), (), 0).press_value(sku)) + 8  # room for the count
    kept_segs: list[str] = []
    for s in segs:
        size += len(s) + 1
        kept_segs.append(s)
    kept_codes: list[str] = []
    kept_unknown: list[str] = []
    untold = 0
    for is_known, name in [(True, c) for c in codes] + [(False, u) for u in unknown]:
        cost = len(name if is_known else urllib.parse.quote(name, safe="")) + 1
        if size + cost > replies.PRESS_VALUE_MAX:
            untold += 1
            continue
        size += cost
        (kept_codes if is_known else kept_unknown).append(name)
    return replies.Asked(tuple(kept_codes), tuple(kept_segs), tuple(kept_unknown), untold)


def _combined(
    view: CatalogView,
    product: SalesProduct,
    regions: Sequence[Region],
    segs: Sequence[Segment | None],
) -> tuple[tuple[Region, Segment | None, Assessment], list[Difference]]:
    """Every (market, segment) combination's verdict: the most restrictive one (ties in
    the order named), and each other one (marked a combination) with its own exceptions
    below, all marked as asked (never said as exceptions to the most restrictive one's
    verdict)."""
    catalog = view.catalog
    combos = [
        (r, s, assess(catalog, product, r.code, s.code if s else None))
        for r in regions
        for s in segs
    ]
    worst = min(range(len(combos)), key=lambda i: _RANK[combos[i][2].verdict])
    head_region = combos[worst][0]
    others: list[Difference] = []
    for i, (r, s, a) in enumerate(combos):
        if i == worst:
            continue
        same = r.code == head_region.code
        others.append(Difference(r, s, a, here=same, asked=True, combination=True))
        # Its own exceptions below, each saying which market and segment it is about.
        for d in differences(view, product, r, s, a):
            seg = d.segment or s
            here = d.here and r is head_region
            others.append(Difference(d.region, seg, d.assessment, here, asked=True))
    return combos[worst], others


def several_answer(
    view: CatalogView,
    product: SalesProduct,
    codes: Sequence[str],
    segs: Sequence[str],
    unknown: Sequence[str] = (),
    untold: int = 0,
) -> ProductAnswer | UnknownMarket:
    """The answer to a question naming several markets and/or segments: every named
    (market, segment) combination, the most restrictive one as the headline (so the
    one-line fallback never reads better than the worst case) and each other one listed
    with its own verdict and reason; markets the catalog lacks said first, as Not
    available (default deny). A press on it answers the same again from its value."""
    catalog = view.catalog
    known = [c for c in dict.fromkeys(codes) if c in catalog.regions]
    # A market taken out of the catalog since the question was asked is one it lacks.
    lacking = [*dict.fromkeys([*unknown, *(c for c in codes if c not in catalog.regions)])]
    seg_codes = [s for s in dict.fromkeys(segs) if s in catalog.segments]
    if not known and lacking:
        one = catalog.segments[seg_codes[0]] if len(seg_codes) == 1 else None
        return UnknownMarket(lacking[0], product, one, others=tuple(lacking[1:]))
    if not known:
        known = [next(iter(catalog.regions))]  # no market named: everywhere
    asked = _fitted(product.sku, known, seg_codes, lacking)
    asked = dataclasses.replace(asked, untold=asked.untold + untold)
    regions = [catalog.regions[c] for c in asked.markets]
    segments: list[Segment | None] = [catalog.segments[s] for s in asked.segments] or [None]
    (head_region, head_segment, _), others = _combined(view, product, regions, segments)
    head = product_answer(view, product, head_region, head_segment)
    if not (others or asked.unknown or asked.untold):
        return head  # one combination after all ("widget pro banks"): the one answer
    alts = head.alternatives
    if alts and len(regions) * len(segments) > 1:
        alts = alternatives_everywhere(view, product, regions, segments)
    return dataclasses.replace(
        head, differences=(*others, *head.differences), asked=asked, alternatives=alts
    )


def _several_options(
    view: CatalogView,
    products: Sequence[SalesProduct],
    codes: Sequence[str],
    segs: Sequence[str],
    unknown: Sequence[str],
) -> tuple[Option, ...]:
    """Each of several products, with its most restrictive verdict among the markets and
    segments named (where it is said) and every other one listed: a list of choices never
    shows one market's verdict as the whole truth."""
    catalog = view.catalog
    regions = [catalog.regions[c] for c in dict.fromkeys(codes)]
    segments: list[Segment | None] = [catalog.segments[s] for s in dict.fromkeys(segs)] or [None]
    out = []
    for p in products:
        if not regions:
            out.append(Option(p, _unknown(p), place=replies.joined(list(unknown))))
            continue
        (r, s, a), others = _combined(view, p, regions, segments)
        if unknown:  # default deny heads: every named market is listed beneath it
            here = [Difference(r, s, a, asked=True), *others]
            below = differences(view, p, r, s, a)
            listed = (*here, *(dataclasses.replace(d, here=False, asked=True) for d in below))
            out.append(Option(p, _unknown(p), listed, place=replies.joined(list(unknown))))
            continue
        place = r.name + (f" for {s.name}" if s else "")
        out.append(Option(p, a, (*others, *differences(view, p, r, s, a)), place=place))
    return tuple(out)


def _several_choices(
    view: CatalogView,
    parsed: matching.ParsedQuery,
    chosen: list[matching.Match],
    region: Region | None,
    segment: Segment | None,
    named: _Named,
) -> Ambiguous:
    """Several products match a question naming several markets and/or segments: each
    with its most restrictive verdict among them and the others listed; the product is
    picked first ("Which one?"), then every named combination is answered."""
    catalog = view.catalog
    codes = list(dict.fromkeys(([region.code] if region else []) + named.markets))
    segs = list(dict.fromkeys(([segment.code] if segment else []) + named.segments))
    unknown = list(dict.fromkeys(([parsed.unknown] if parsed.unknown else []) + named.unknown))
    shown = catalog.products
    options = _several_options(view, [shown[m.key] for m in chosen], codes, segs, unknown)
    total = _as_close(view, parsed, chosen)
    markets = tuple(catalog.regions[c].name for c in codes) + tuple(unknown)
    seg_names = tuple(catalog.segments[s].name for s in segs)
    only = catalog.segments[segs[0]] if len(segs) == 1 else None
    return Ambiguous(
        parsed.product_text,
        catalog.regions[codes[0]] if codes else None,
        options,
        total,
        only,
        unknown[0] if unknown else None,
        markets if len(markets) > 1 else (),
        seg_names if len(seg_names) > 1 else (),
    )


def _several(
    view: CatalogView,
    parsed: matching.ParsedQuery,
    match: matching.Match,
    product: SalesProduct,
    region: Region | None,
    segment: Segment | None,
    named: _Named | None,
    question: str,
) -> Reply | None:
    """A question naming several markets and/or segments (several_answer), with those
    the product's name does not explain read from its words. None: the question names
    one of each at most."""
    extra = matching.unexplained(parsed.product_text, match.matched)
    found = _named_more(view, extra.split()) if extra else _Named([], [], [], [])
    markets = (named.markets if named else []) + found.markets
    unknown = (named.unknown if named else []) + found.unknown
    segs = (named.segments if named else []) + found.segments
    if region is not None or markets or unknown or parsed.unknown:
        # A word nothing reads beside named markets: a market nobody knows ("narnia").
        odd = _gibberish(view, found.left, question)
        if odd is not None:
            unknown.append(odd)
    if not (markets or unknown or segs):
        return None
    codes = ([region.code] if region else []) + markets
    seg_codes = ([segment.code] if segment else []) + segs
    lacking = ([parsed.unknown] if parsed.unknown else []) + unknown
    return several_answer(view, product, codes, seg_codes, lacking)
