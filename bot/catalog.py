"""Availability rules (default-deny, most specific rule wins, lifecycle caps) and lookups."""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot import matching
from bot.catalog_file import CatalogError, CatalogSpec, ChangeSet, diff_catalogs, read_catalog
from bot.ports import CatalogRepository, ChangePreparer, Notification
from bot.replies import (
    LIFECYCLE_REASON,
    NO_COVERAGE,
    Ambiguous,
    Assessment,
    NotFound,
    Option,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    RegionRow,
    Reply,
)
from bot.types import Lifecycle, Region, SalesCatalog, SalesProduct, Status, Verdict

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


def assess(catalog: SalesCatalog, product: SalesProduct, region_code: str) -> Assessment:
    """The verdict rules (README "The rules", docs/ARCHITECTURE.md "The rules"), exactly."""
    rules = {r.region: r for r in product.rules}
    path = region_path(catalog.regions, region_code)
    deciding = next((rules[c] for c in path if c in rules), None)
    band_code = next(
        (rules[c].pricing_band for c in path if c in rules and rules[c].pricing_band),
        product.pricing_band,
    )
    band = catalog.bands.get(band_code) if band_code else None
    if product.lifecycle is Lifecycle.WITHDRAWN:
        return Assessment(Verdict.WITHDRAWN, LIFECYCLE_REASON["withdrawn"], None, band)
    if deciding is None:
        return Assessment(Verdict.NOT_AVAILABLE, NO_COVERAGE, None, band)
    verdict = _STATUS_VERDICT[deciding.status]
    reason, from_date = deciding.reason, deciding.from_date
    cap = _CAP.get(product.lifecycle)
    if cap is not None and _RANK[verdict] > _RANK[cap]:
        verdict = cap
        reason = LIFECYCLE_REASON[product.lifecycle.value]
    return Assessment(verdict, reason, from_date, band)


@dataclass
class CatalogView:
    """One catalog version with its search structures; shared by every request."""

    catalog: SalesCatalog
    products: matching.ProductIndex
    regions: matching.RegionLexicon
    top_level: tuple[str, ...]
    by_sku: dict[str, SalesProduct] = field(default_factory=dict)
    _region_cache: dict[str, RegionOverview] = field(default_factory=dict)
    _answer_cache: dict[tuple[str, str], ProductAnswer] = field(default_factory=dict)
    _sellable_cache: dict[str, dict[str, Option]] = field(default_factory=dict)
    _likeness_cache: dict[str, tuple[array[int], bool]] = field(default_factory=dict)

    @classmethod
    def build(cls, catalog: SalesCatalog) -> CatalogView:
        index = matching.ProductIndex(
            [(i, (p.name, *p.aliases, p.sku)) for i, p in enumerate(catalog.products)]
        )
        lexicon = matching.RegionLexicon(
            (r.code, (r.name, *r.aliases)) for r in catalog.regions.values()
        )
        roots = [r.code for r in catalog.regions.values() if r.parent is None]
        if len(roots) == 1:
            top = tuple(r.code for r in catalog.regions.values() if r.parent == roots[0])
        else:
            top = tuple(roots)
        return cls(
            catalog,
            index,
            lexicon,
            top or tuple(roots),
            by_sku={p.sku: p for p in catalog.products},
        )


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

    async def view(self) -> CatalogView:
        # Reading the version costs a database round trip; within `version_ttl` seconds of
        # the last read the view is reused (changes made through this process mark it stale
        # at once; other processes' changes show within the TTL).
        now = time.monotonic()
        fresh = now - self._checked_at < self.version_ttl
        if self._view is not None and (fresh or self._checking):
            return self._view  # one request reads the version; the others go on meanwhile
        self._checking = True
        try:
            version = await self._repo.catalog_version()
        finally:
            self._checking = False
        self._checked_at = now
        if self._view is not None and self._view.catalog.version == version:
            return self._view
        async with self._lock:
            if self._view is None or self._view.catalog.version != version:
                catalog = await self._repo.load_sales_catalog()
                # Index building is CPU work: keep it off the event loop.
                self._view = await asyncio.to_thread(CatalogView.build, catalog)
                if self._after_build is not None:
                    await asyncio.to_thread(self._after_build)
                log.info(
                    "catalog index built",
                    extra={"version": catalog.version, "products": len(catalog.products)},
                )
            return self._view

    async def lookup(self, text: str) -> Reply:
        view = await self.view()
        return answer_query(view, text)

    async def answer_for(self, *, sku: str, region_code: str) -> Reply | None:
        """The answer for one exact product and region (e.g. a "Share in channel" click)."""
        view = await self.view()
        product = view.by_sku.get(sku)
        region = view.catalog.regions.get(region_code)
        if product is None or region is None:
            return None
        return product_answer(view, product, region)

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
    ) -> ChangeSet:
        """The one change engine: imports and chat edits both end here. `old` and `new`
        hold the regions and bands and at least every product that may differ (a product
        in `old` only is removed). `extra` messages are written in the same transaction
        (e.g. telling a feedback submitter)."""
        changes = diff_catalogs(old, new)
        if changes.empty:
            if hashes:
                await self._repo.remember_hashes(hashes=hashes)
            return changes
        prepared = None
        if self.preparer is not None:
            prepared = await self.preparer.prepare(
                old=old, new=new, changes=changes, actor=actor, source=source
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
        patched = _patched(view, changes, version) if view is not None else None
        if patched is not None:
            self._view = patched  # this process sees its own edit at once, without a reload
        else:
            self._checked_at = -1e9  # read the new version on the next lookup
        return changes

    async def catalog_version(self) -> int:
        return await self._repo.catalog_version()

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
        or any(_INDEX_FIELDS.intersection(c.fields) or c.after is None for c in changes.changed)
    ):
        return None
    replaced = {c.sku: c.after for c in changes.changed if c.after is not None}
    products = tuple(replaced.get(p.sku, p) for p in view.catalog.products)
    by_sku = dict(view.by_sku)
    by_sku.update(replaced)
    # Caches are per version (answers and alternatives depend on every product).
    return CatalogView(
        dataclasses.replace(view.catalog, version=version, products=products),
        view.products,
        view.regions,
        view.top_level,
        by_sku=by_sku,
    )


def _option(view: CatalogView, product: SalesProduct, region: Region) -> Option:
    return Option(product, assess(view.catalog, product, region.code))


SMALL_CATALOG = 5000  # up to this size every product is a candidate alternative
# How much of a product's likeness ranking is kept: the first few sellable products in a
# market are nearly always among them (4 bytes each, so at most ~5 MB at SMALL_CATALOG).
LIKENESS_KEPT = 256


def _likeness_text(p: SalesProduct) -> str:
    return " ".join((p.name, *p.traits, p.summary))


def alternatives(view: CatalogView, product: SalesProduct, region: Region) -> tuple[Option, ...]:
    """Sellable products in the region that are closest to `product` (name, traits, family).
    Not memoised itself: product_answer, its one caller, keeps the whole answer."""
    catalog = view.catalog
    if len(catalog.products) > SMALL_CATALOG:
        # Large catalogs: only the product's name neighbours are considered.
        keys = [m.key for m in view.products.search(product.name, limit=60, candidates=120)]
        pool = [catalog.products[k] for k in keys if catalog.products[k].sku != product.sku]
        options = [_option(view, p, region) for p in pool]
        sellable = [o for o in options if o.assessment and o.assessment.verdict.sellable]
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
    sellable_here = _sellable_in(view, region)
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


def _sellable_in(view: CatalogView, region: Region) -> dict[str, Option]:
    cached = view._sellable_cache.get(region.code)
    if cached is None:
        options = (_option(view, p, region) for p in view.catalog.products)
        cached = view._sellable_cache[region.code] = {
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


def product_answer(view: CatalogView, product: SalesProduct, region: Region) -> ProductAnswer:
    """Cached per catalog version: the answer (before the asker's
    verification details) depends on the catalog only, and the same one object is handed
    out each time, which lets renderers memoise on it."""
    key = (product.sku, region.code)
    cached = view._answer_cache.get(key)
    if cached is None:
        if len(view._answer_cache) > 50_000:
            view._answer_cache.clear()
        a = assess(view.catalog, product, region.code)
        alts = () if a.verdict is Verdict.AVAILABLE else alternatives(view, product, region)
        cached = view._answer_cache[key] = ProductAnswer(product, region, a, alts)
    return cached


def region_overview(view: CatalogView, region: Region) -> RegionOverview:
    cached = view._region_cache.get(region.code)
    if cached is not None:
        return cached
    count = 0

    def sellable() -> Iterator[Option]:
        nonlocal count
        for p in view.catalog.products:
            o = _option(view, p, region)
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
    out = RegionOverview(region, tuple(listed), count)
    view._region_cache[region.code] = out
    return out


def product_overview(view: CatalogView, product: SalesProduct) -> ProductOverview:
    rows = tuple(
        RegionRow(view.catalog.regions[c], assess(view.catalog, product, c)) for c in view.top_level
    )
    return ProductOverview(product, rows)


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
    parsed = matching.parse_query(text, view.regions, view.products)
    region = view.catalog.regions.get(parsed.region) if parsed.region else None
    if not parsed.product_text:
        if region is not None:
            return region_overview(view, region)
        return NotFound(text.strip(), None, ())
    chosen, suggestions = matching.pick(parsed.matches)
    products = view.catalog.products
    if not chosen:
        return NotFound(
            parsed.product_text, region, tuple(products[m.key].name for m in suggestions)
        )
    if len(chosen) > 1:
        options = tuple(
            Option(products[m.key], assess(view.catalog, products[m.key], region.code))
            if region
            else Option(products[m.key], None)
            for m in chosen
        )
        return Ambiguous(parsed.product_text, region, options, _as_close(view, parsed, chosen))
    product = products[chosen[0].key]
    if region is None:
        return product_overview(view, product)
    return product_answer(view, product, region)
