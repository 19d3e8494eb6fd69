"""The repository: implements bot.ports with SQL and returns bot.types, never ORM rows."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalog_file import CatalogConflict, CatalogSpec, ChangeSet
from bot.ports import PreparedChange, StoredIndex
from bot.types import (
    Competitor,
    Doc,
    Lifecycle,
    PricingBand,
    Region,
    Rule,
    SalesCatalog,
    SalesProduct,
    Segment,
    Status,
)
from store.models import (
    AvailabilityRuleRow,
    CatalogChangeRow,
    CatalogMeta,
    PricingBandRow,
    ProductInternalRow,
    ProductRow,
    RegionRow,
    SegmentRow,
)

CATALOG_VERSION = "catalog_version"


_CHUNK = 2000  # rows fetched at a time while loading the catalog


async def _chunks(conn: AsyncConnection, query: sa.Select[Any]) -> AsyncIterator[Sequence[Any]]:
    """The rows of `query` a chunk at a time. A large catalog has several rules a product:
    fetching every raw row at once sets a peak that the allocator keeps afterwards."""
    result = await conn.stream(query.execution_options(yield_per=_CHUNK))
    async for chunk in result.partitions():  # one round trip a chunk, not one a row
        yield chunk


# region, status, reason, from, band, segment ("" for none), contact
_RuleKey = tuple[str, str, str | None, dt.date | None, str | None, str, str | None]


class _Shared:
    """One object per distinct value among those a catalog repeats.

    A large catalog says "GLOBAL: available" or "traits: [Fast, Secure]" for thousands of
    products, and every row read from the database is a fresh copy that would live as long
    as the catalog. Everything shared is immutable (str, date, frozen dataclasses, tuples
    of them). Look-ups are keyed by the raw column values, so that a repeat costs one
    C-level hash and the objects are built on first sight only. Dropped once loaded.
    """

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._dates: dict[dt.date, dt.date] = {}
        self._rules: dict[_RuleKey, Rule] = {}
        self._tuples: dict[tuple[object, ...], tuple[Any, ...]] = {}

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    def opt_text(self, value: str | None) -> str | None:
        return None if value is None else self._texts.setdefault(value, value)

    def rule(self, key: _RuleKey) -> Rule:
        rule = self._rules.get(key)
        if rule is None:
            region, status, reason, from_date, band, segment, contact = key
            rule = self._rules[key] = Rule(
                self.text(region),
                Status(status),
                self.opt_text(reason),
                None if from_date is None else self._dates.setdefault(from_date, from_date),
                self.opt_text(band),
                self.text(segment) if segment else None,
                self.opt_text(contact),
            )
        return rule

    def texts(self, values: Iterable[str]) -> tuple[str, ...]:
        k = tuple(values)
        got = self._tuples.get((str, k))
        if got is None:
            got = self._tuples[(str, k)] = tuple(self.text(v) for v in k)
        return got

    def competitors(self, values: Iterable[dict[str, str]]) -> tuple[Competitor, ...]:
        k = tuple((c["name"], c["difference"]) for c in values)
        got = self._tuples.get((Competitor, k))
        if got is None:
            got = tuple(Competitor(self.text(a), self.text(b)) for a, b in k)
            self._tuples[(Competitor, k)] = got
        return got

    def docs(self, values: Iterable[dict[str, str]]) -> tuple[Doc, ...]:
        k = tuple((d["title"], d["url"]) for d in values)
        got = self._tuples.get((Doc, k))
        if got is None:
            got = self._tuples[(Doc, k)] = tuple(Doc(self.text(a), self.text(b)) for a, b in k)
        return got


_band_t = PricingBandRow.__table__  # type: ignore[attr-defined]
_region_t = RegionRow.__table__  # type: ignore[attr-defined]
_product_t = ProductRow.__table__  # type: ignore[attr-defined]
_rule_t = AvailabilityRuleRow.__table__  # type: ignore[attr-defined]
_internal_t = ProductInternalRow.__table__  # type: ignore[attr-defined]
_meta_t = CatalogMeta.__table__  # type: ignore[attr-defined]
_segment_t = SegmentRow.__table__  # type: ignore[attr-defined]
_change_t = CatalogChangeRow.__table__  # type: ignore[attr-defined]

# The columns a lookup may read. product_internal is deliberately absent.
_SALES_PRODUCT_COLUMNS = (
    _product_t.c.id,
    _product_t.c.sku,
    _product_t.c.name,
    _product_t.c.aliases,
    _product_t.c.lifecycle,
    _product_t.c.pricing_band_code,
    _product_t.c.summary,
    _product_t.c.traits,
    _product_t.c.competitors,
    _product_t.c.docs,
    _product_t.c.owner,
    _product_t.c.contact,
)


def _product_values(p: SalesProduct, position: int) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "name": p.name,
        "aliases": list(p.aliases),
        "lifecycle": p.lifecycle.value,
        "pricing_band_code": p.pricing_band,
        "summary": p.summary,
        "traits": list(p.traits),
        "competitors": [{"name": c.name, "difference": c.difference} for c in p.competitors],
        "docs": [{"title": d.title, "url": d.url} for d in p.docs],
        "owner": p.owner,
        "contact": p.contact,
        "position": position,
    }


def _rule_values(product_id: int, rules: tuple[Rule, ...]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": product_id,
            "region_code": r.region,
            "status": r.status.value,
            "reason": r.reason,
            "from_date": r.from_date,
            "pricing_band_code": r.pricing_band,
            "segment_code": r.segment or "",
            "contact": r.contact,
            "position": i,
        }
        for i, r in enumerate(rules)
    ]


_PART = 1000  # values per IN (...) list or statement batch: never one that grows with the data


def _parts(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _PART):
        yield values[i : i + _PART]


async def _once(rows: Any) -> AsyncIterator[Sequence[Any]]:
    yield list(rows)


async def _rules_by_product(
    chunks: AsyncIterator[Sequence[Any]], shared: _Shared
) -> dict[int, tuple[Rule, ...]]:
    """Rule rows (ordered by product, then position) grouped into each product's rules."""
    rules: dict[int, tuple[Rule, ...]] = {}
    pid: int | None = None
    current: list[Rule] = []
    async for chunk in chunks:
        for product_id, region, status, reason, from_date, band, segment, contact in chunk:
            if product_id != pid:
                if pid is not None:
                    rules[pid] = tuple(current)
                pid, current = product_id, []
            key = (region, status, reason, from_date, band, segment, contact)
            current.append(shared.rule(key))
    if pid is not None:
        rules[pid] = tuple(current)
    return rules


def _product_of(r: Any, rules: dict[int, tuple[Rule, ...]], shared: _Shared) -> SalesProduct:
    return SalesProduct(
        sku=r.sku,
        name=r.name,
        lifecycle=Lifecycle(r.lifecycle),
        pricing_band=shared.opt_text(r.pricing_band_code),
        summary=r.summary or "",
        aliases=tuple(r.aliases or ()),
        traits=shared.texts(r.traits or ()),
        competitors=shared.competitors(r.competitors or ()),
        docs=shared.docs(r.docs or ()),
        owner=shared.opt_text(r.owner),
        rules=rules.pop(r.id, ()),
        contact=shared.opt_text(r.contact),
    )


GAP = 1024  # between the positions of products imported together, so one can go between


def positions(order: Sequence[str], current: Mapping[str, int]) -> dict[str, int]:
    """New positions for the SKUs that need one for positions to follow `order`.

    The longest run of stored positions that is already in order stays as it is; new and
    moved products get positions between their neighbours. Only when a gap has no room
    is everything renumbered, GAP apart.
    """
    # Longest increasing subsequence of the stored positions, in file order.
    seq = [(i, current[sku]) for i, sku in enumerate(order) if sku in current]
    tails: list[int] = []  # position values
    tail_at: list[int] = []  # index into seq of each tail
    back: list[int] = [-1] * len(seq)
    for k, (_, pos) in enumerate(seq):
        j = bisect.bisect_left(tails, pos)
        if j == len(tails):
            tails.append(pos)
            tail_at.append(k)
        else:
            tails[j] = pos
            tail_at[j] = k
        back[k] = tail_at[j - 1] if j else -1
    kept: set[int] = set()
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        kept.add(seq[k][0])
        k = back[k]
    out: dict[str, int] = {}
    run: list[str] = []
    low: int | None = None
    for i, sku in enumerate([*order, None]):
        if sku is not None and i not in kept:
            run.append(sku)
            continue
        high = current[sku] if sku is not None else None
        if run:
            if low is None and high is None:
                out.update({s: GAP * (n + 1) for n, s in enumerate(run)})
            elif low is None:
                assert high is not None
                out.update({s: high - GAP * (len(run) - n) for n, s in enumerate(run)})
            elif high is None:
                out.update({s: low + GAP * (n + 1) for n, s in enumerate(run)})
            elif high - low > len(run):
                step = (high - low) // (len(run) + 1)
                out.update({s: low + step * (n + 1) for n, s in enumerate(run)})
            else:  # no room: renumber every product
                every = {s: GAP * (n + 1) for n, s in enumerate(order)}
                return {s: p for s, p in every.items() if current.get(s) != p}
            run = []
        low = high
    return out


async def _ids(conn: AsyncConnection, skus: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in _parts(skus):
        query = sa.select(_product_t.c.sku, _product_t.c.id).where(_product_t.c.sku.in_(part))
        out.update((r.sku, r.id) for r in await conn.execute(query))
    return out


async def _set_by_sku(conn: AsyncConnection, values: Mapping[str, Mapping[str, Any]]) -> None:
    """UPDATE product rows by SKU, one executemany per set of columns (not a round trip a
    row)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for sku, row in values.items():
        groups.setdefault(tuple(sorted(row)), []).append({"k_sku": sku, **row})
    # The SET columns are the parameters' keys (the same in every row of a group).
    stmt = sa.update(_product_t).where(_product_t.c.sku == sa.bindparam("k_sku"))
    for rows in groups.values():
        for part in _parts(rows):
            await conn.execute(stmt, list(part))


async def _apply_products(
    conn: AsyncConnection,
    spec: CatalogSpec,
    changes: ChangeSet,
    order: Sequence[str] | None,
    hashes: Mapping[str, str | None],
) -> None:
    """Only the rows a change touches, in batched statements."""
    for part in _parts([p.sku for p in changes.removed]):
        await conn.execute(sa.delete(_product_t).where(_product_t.c.sku.in_(part)))
    moved: dict[str, int] = {}
    if order is not None:
        current = {
            r.sku: r.position
            for r in await conn.execute(sa.select(_product_t.c.sku, _product_t.c.position))
        }
        moved = positions(order, current)
    if changes.added:
        # Batched INSERT … RETURNING (SQLAlchemy's insertmanyvalues), not one per row.
        ids: dict[str, int] = {}
        end = max(moved.values(), default=0)
        for part in _parts(changes.added):
            rows = await conn.execute(
                sa.insert(_product_t).returning(_product_t.c.sku, _product_t.c.id),
                [
                    {
                        **_product_values(p, moved.pop(p.sku, end + GAP * (n + 1))),
                        "source_hash": hashes.get(p.sku),
                    }
                    for n, p in enumerate(part)
                ],
            )
            ids.update((r.sku, r.id) for r in rows)
        await _insert_rules(conn, [(ids[p.sku], p.rules) for p in changes.added])
        await _insert_internal(conn, spec, [(ids[p.sku], p.sku) for p in changes.added])
    changed = [c for c in changes.changed if c.after is not None]
    if changed:
        ids = await _ids(conn, [c.sku for c in changed])
        rows_by_sku: dict[str, dict[str, Any]] = {}
        for c in changed:
            assert c.after is not None
            position = moved.pop(c.sku, None)
            row = _product_values(c.after, position or 0)
            if position is None:
                del row["position"]  # it keeps its place
            row["source_hash"] = hashes.get(c.sku)
            rows_by_sku[c.sku] = row
        await _set_by_sku(conn, rows_by_sku)
        with_rules = [ids[c.sku] for c in changed if "rules" in c.fields]
        for part in _parts(with_rules):
            await conn.execute(sa.delete(_rule_t).where(_rule_t.c.product_id.in_(part)))
        await _insert_rules(
            conn, [(ids[c.sku], c.after.rules) for c in changed if "rules" in c.fields and c.after]
        )
        with_internal = [c for c in changed if c.internal_changed]
        for part in _parts([ids[c.sku] for c in with_internal]):
            await conn.execute(sa.delete(_internal_t).where(_internal_t.c.product_id.in_(part)))
        await _insert_internal(conn, spec, [(ids[c.sku], c.sku) for c in with_internal])
    # Products that kept their values but moved, or whose item's text changed.
    rest: dict[str, dict[str, Any]] = {s: {"position": p} for s, p in moved.items()}
    touched = {p.sku for p in changes.added} | {c.sku for c in changed}
    for sku, h in hashes.items():
        if sku not in touched:
            rest.setdefault(sku, {})["source_hash"] = h
    await _set_by_sku(conn, rest)


async def _insert_rules(
    conn: AsyncConnection, products: Sequence[tuple[int, tuple[Rule, ...]]]
) -> None:
    values = [v for pid, rules in products for v in _rule_values(pid, rules)]
    for part in _parts(values):
        await conn.execute(sa.insert(_rule_t), list(part))


async def _insert_internal(
    conn: AsyncConnection, spec: CatalogSpec, products: Sequence[tuple[int, str]]
) -> None:
    values = [
        {"product_id": pid, "data": dict(spec.internal[sku])}
        for pid, sku in products
        if spec.internal.get(sku)
    ]
    for part in _parts(values):
        await conn.execute(sa.insert(_internal_t), list(part))


class SqlRepository:
    """Catalog storage on SQLite or PostgreSQL (keyword-only methods, plain values out)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def catalog_version(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(_meta_t.c.value).where(_meta_t.c.key == CATALOG_VERSION)
            )
        return int(value or 0)

    async def _header(
        self, conn: AsyncConnection
    ) -> tuple[int, list[PricingBand], list[Region], _Shared, list[Segment]]:
        version = await conn.scalar(
            sa.select(_meta_t.c.value).where(_meta_t.c.key == CATALOG_VERSION)
        )
        bands = [
            PricingBand(r.code, r.label, r.min_amount, r.max_amount, r.currency)
            for r in await conn.execute(sa.select(_band_t).order_by(_band_t.c.position))
        ]
        regions = [
            Region(
                r.code, r.name, r.parent_code, tuple(r.aliases or ()), r.briefing_target_per_quarter
            )
            for r in await conn.execute(sa.select(_region_t).order_by(_region_t.c.position))
        ]
        segments = [
            Segment(r.code, r.name, tuple(r.aliases or ()))
            for r in await conn.execute(sa.select(_segment_t).order_by(_segment_t.c.position))
        ]
        # The catalog lives as long as the process: values it repeats are kept once.
        shared = _Shared()
        for b in bands:
            shared.text(b.code)
        for region in regions:
            shared.text(region.code)
        return int(version or 0), bands, regions, shared, segments

    async def _load(
        self, conn: AsyncConnection, skus: Sequence[str] | None = None
    ) -> tuple[int, list[PricingBand], list[Region], list[tuple[int, SalesProduct]], list[Segment]]:
        """The catalog, or (with `skus`) its sections and only those products."""
        version, bands, regions, shared, segments = await self._header(conn)
        rule_rows = sa.select(
            _rule_t.c.product_id,
            _rule_t.c.region_code,
            _rule_t.c.status,
            _rule_t.c.reason,
            _rule_t.c.from_date,
            _rule_t.c.pricing_band_code,
            _rule_t.c.segment_code,
            _rule_t.c.contact,
        ).order_by(_rule_t.c.product_id, _rule_t.c.position)
        product_rows = sa.select(*_SALES_PRODUCT_COLUMNS).order_by(
            _product_t.c.position, _product_t.c.id
        )
        products: list[tuple[int, SalesProduct]] = []
        if skus is None:
            rules = await _rules_by_product(_chunks(conn, rule_rows), shared)
            async for chunk in _chunks(conn, product_rows):
                products.extend((r.id, _product_of(r, rules, shared)) for r in chunk)
            return version, bands, regions, products, segments
        for part in _parts(skus):
            rows = list(await conn.execute(product_rows.where(_product_t.c.sku.in_(part))))
            ids = [r.id for r in rows]
            rules = await _rules_by_product(
                _once(await conn.execute(rule_rows.where(_rule_t.c.product_id.in_(ids)))), shared
            )
            products.extend((r.id, _product_of(r, rules, shared)) for r in rows)
        return version, bands, regions, products, segments

    async def load_sales_catalog(self) -> SalesCatalog:
        async with self.engine.connect() as conn:
            version, bands, regions, products, segments = await self._load(conn)
        return SalesCatalog(
            version=version,
            bands={b.code: b for b in bands},
            regions={r.code: r for r in regions},
            products=tuple(p for _, p in products),
            segments={g.code: g for g in segments},
        )

    async def load_catalog_spec(self) -> CatalogSpec:
        return await self._spec(None)

    async def load_products(self, *, skus: Collection[str]) -> CatalogSpec:
        return await self._spec(list(skus))

    async def _spec(self, skus: Sequence[str] | None) -> CatalogSpec:
        async with self.engine.connect() as conn:
            _version, bands, regions, products, segments = await self._load(conn, skus)
            query = sa.select(_internal_t)
            internal_by_id: dict[int, dict[str, Any]] = {}
            for part in [None] if skus is None else _parts([i for i, _ in products]):
                rows = await conn.execute(
                    query if part is None else query.where(_internal_t.c.product_id.in_(part))
                )
                internal_by_id.update((r.product_id, dict(r.data or {})) for r in rows)
        return CatalogSpec(
            bands=tuple(bands),
            regions=tuple(regions),
            products=tuple(p for _, p in products),
            internal={p.sku: internal_by_id[i] for i, p in products if internal_by_id.get(i)},
            segments=tuple(segments),
        )

    async def stored_index(self) -> StoredIndex:
        async with self.engine.connect() as conn:
            _version, bands, regions, _shared, segments = await self._header(conn)
            hashes: dict[str, str | None] = {}
            query = sa.select(_product_t.c.sku, _product_t.c.source_hash)
            async for chunk in _chunks(conn, query):
                hashes.update((sku, h) for sku, h in chunk)
        sections = CatalogSpec(bands=tuple(bands), regions=tuple(regions), segments=tuple(segments))
        return StoredIndex(sections, hashes)

    async def remember_hashes(self, *, hashes: Mapping[str, str]) -> None:
        if hashes:
            async with self.engine.begin() as conn:
                await _set_by_sku(conn, {s: {"source_hash": h} for s, h in hashes.items()})

    async def change_set_made(self, *, change_set: str) -> bool:
        query = sa.select(_change_t.c.id).where(_change_t.c.change_set == change_set).limit(1)
        async with self.engine.connect() as conn:
            return await conn.scalar(query) is not None

    async def apply_catalog(
        self,
        *,
        spec: CatalogSpec,
        changes: ChangeSet,
        prepared: PreparedChange | None = None,
        expected_version: int | None = None,
        order: Sequence[str] | None = None,
        hashes: Mapping[str, str | None] | None = None,
    ) -> int:
        async with self._sessions.begin() as session:
            conn = await session.connection()
            if changes.bands_changed:
                await conn.execute(sa.delete(_band_t))
                if spec.bands:
                    await conn.execute(
                        sa.insert(_band_t),
                        [
                            {
                                "code": b.code,
                                "label": b.label,
                                "min_amount": b.min,
                                "max_amount": b.max,
                                "currency": b.currency,
                                "position": i,
                            }
                            for i, b in enumerate(spec.bands)
                        ],
                    )
            if changes.regions_changed:
                await conn.execute(sa.delete(_region_t))
                await conn.execute(
                    sa.insert(_region_t),
                    [
                        {
                            "code": r.code,
                            "name": r.name,
                            "parent_code": r.parent,
                            "aliases": list(r.aliases),
                            "briefing_target_per_quarter": r.briefing_target_per_quarter,
                            "position": i,
                        }
                        for i, r in enumerate(spec.regions)
                    ],
                )
            if changes.segments_changed:
                await conn.execute(sa.delete(_segment_t))
                if spec.segments:
                    await conn.execute(
                        sa.insert(_segment_t),
                        [
                            {
                                "code": g.code,
                                "name": g.name,
                                "aliases": list(g.aliases),
                                "position": i,
                            }
                            for i, g in enumerate(spec.segments)
                        ],
                    )
            await _apply_products(conn, spec, changes, order, hashes or {})
            if prepared is not None:
                from store.updates_repo import write_prepared

                await write_prepared(conn, prepared)
            await self._bump_version(session, expected_version)
            version = await conn.scalar(
                sa.select(_meta_t.c.value).where(_meta_t.c.key == CATALOG_VERSION)
            )
        return int(version or 0)

    async def _bump_version(self, session: AsyncSession, expected: int | None) -> None:
        """One more version; with `expected`, only if nobody changed the catalog meanwhile
        (an optimistic lock for chat edits: the whole transaction rolls back otherwise)."""
        query = sa.update(_meta_t).where(_meta_t.c.key == CATALOG_VERSION)
        if expected is not None:
            query = query.where(_meta_t.c.value == expected)
        updated = await session.execute(query.values(value=_meta_t.c.value + 1))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            exists = await session.scalar(
                sa.select(_meta_t.c.value).where(_meta_t.c.key == CATALOG_VERSION)
            )
            if exists is not None or expected not in (None, 0):
                raise CatalogConflict("the catalog changed meanwhile")
            await session.execute(sa.insert(_meta_t).values(key=CATALOG_VERSION, value=1))
