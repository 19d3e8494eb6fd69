"""The repository: implements bot.ports with SQL and returns bot.types, never ORM rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalog_file import CatalogConflict, CatalogSpec, ChangeSet
from bot.ports import PreparedChange
from bot.types import (
    Competitor,
    Doc,
    Lifecycle,
    PricingBand,
    Region,
    Rule,
    SalesCatalog,
    SalesProduct,
    Status,
)
from store.models import (
    AvailabilityRuleRow,
    CatalogMeta,
    PricingBandRow,
    ProductInternalRow,
    ProductRow,
    RegionRow,
)

CATALOG_VERSION = "catalog_version"


_CHUNK = 2000  # rows fetched at a time while loading the catalog


async def _chunks(conn: AsyncConnection, query: sa.Select[Any]) -> AsyncIterator[Sequence[Any]]:
    """The rows of `query` a chunk at a time. A large catalog has several rules a product:
    fetching every raw row at once sets a peak that the allocator keeps afterwards."""
    result = await conn.stream(query.execution_options(yield_per=_CHUNK))
    async for chunk in result.partitions():  # one round trip a chunk, not one a row
        yield chunk


_RuleKey = tuple[str, str, str | None, dt.date | None, str | None]


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
            region, status, reason, from_date, band = key
            rule = self._rules[key] = Rule(
                self.text(region),
                Status(status),
                self.opt_text(reason),
                None if from_date is None else self._dates.setdefault(from_date, from_date),
                self.opt_text(band),
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
            "position": i,
        }
        for i, r in enumerate(rules)
    ]


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

    async def _load(
        self, conn: AsyncConnection
    ) -> tuple[int, list[PricingBand], list[Region], list[tuple[int, SalesProduct]]]:
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
        # The catalog lives as long as the process: values it repeats are kept once.
        shared = _Shared()
        for b in bands:
            shared.text(b.code)
        for region in regions:
            shared.text(region.code)
        rules: dict[int, tuple[Rule, ...]] = {}
        pid: int | None = None
        current: list[Rule] = []
        rule_rows = sa.select(
            _rule_t.c.product_id,
            _rule_t.c.region_code,
            _rule_t.c.status,
            _rule_t.c.reason,
            _rule_t.c.from_date,
            _rule_t.c.pricing_band_code,
        ).order_by(_rule_t.c.product_id, _rule_t.c.position)
        async for chunk in _chunks(conn, rule_rows):
            for product_id, region, status, reason, from_date, band in chunk:
                if product_id != pid:
                    if pid is not None:
                        rules[pid] = tuple(current)
                    pid, current = product_id, []
                current.append(shared.rule((region, status, reason, from_date, band)))
        if pid is not None:
            rules[pid] = tuple(current)
        products: list[tuple[int, SalesProduct]] = []
        product_rows = sa.select(*_SALES_PRODUCT_COLUMNS).order_by(
            _product_t.c.position, _product_t.c.id
        )
        async for chunk in _chunks(conn, product_rows):
            products.extend(
                (
                    r.id,
                    SalesProduct(
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
                    ),
                )
                for r in chunk
            )
        return int(version or 0), bands, regions, products

    async def load_sales_catalog(self) -> SalesCatalog:
        async with self.engine.connect() as conn:
            version, bands, regions, products = await self._load(conn)
        return SalesCatalog(
            version=version,
            bands={b.code: b for b in bands},
            regions={r.code: r for r in regions},
            products=tuple(p for _, p in products),
        )

    async def load_catalog_spec(self) -> CatalogSpec:
        async with self.engine.connect() as conn:
            _version, bands, regions, products = await self._load(conn)
            internal_by_id = {
                r.product_id: dict(r.data or {}) for r in await conn.execute(sa.select(_internal_t))
            }
        return CatalogSpec(
            bands=tuple(bands),
            regions=tuple(regions),
            products=tuple(p for _, p in products),
            internal={p.sku: internal_by_id[i] for i, p in products if internal_by_id.get(i)},
        )

    async def apply_catalog(
        self,
        *,
        spec: CatalogSpec,
        changes: ChangeSet,
        prepared: PreparedChange | None = None,
        expected_version: int | None = None,
    ) -> int:
        async with self._sessions.begin() as session:
            if changes.bands_changed:
                await session.execute(sa.delete(_band_t))
                if spec.bands:
                    await session.execute(
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
                await session.execute(sa.delete(_region_t))
                await session.execute(
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
            await self._apply_products(session, spec, changes)
            if prepared is not None:
                from store.updates_repo import write_prepared

                await write_prepared(await session.connection(), prepared)
            await self._bump_version(session, expected_version)
            version = await session.scalar(
                sa.select(_meta_t.c.value).where(_meta_t.c.key == CATALOG_VERSION)
            )
        return int(version or 0)

    async def _apply_products(
        self, session: AsyncSession, spec: CatalogSpec, changes: ChangeSet
    ) -> None:
        if changes.removed:
            await session.execute(
                sa.delete(_product_t).where(_product_t.c.sku.in_([p.sku for p in changes.removed]))
            )
        position = {p.sku: i for i, p in enumerate(spec.products)}
        ids = {
            r.sku: r.id for r in await session.execute(sa.select(_product_t.c.sku, _product_t.c.id))
        }
        if changes.added:
            # One batched INSERT … RETURNING (SQLAlchemy's insertmanyvalues), not one per row.
            rows = await session.execute(
                sa.insert(_product_t).returning(_product_t.c.sku, _product_t.c.id),
                [_product_values(p, position[p.sku]) for p in changes.added],
            )
            ids.update({r.sku: r.id for r in rows})
            rules = [v for p in changes.added for v in _rule_values(ids[p.sku], p.rules)]
            if rules:
                await session.execute(sa.insert(_rule_t), rules)
            internal = [
                {"product_id": ids[p.sku], "data": dict(spec.internal[p.sku])}
                for p in changes.added
                if spec.internal.get(p.sku)
            ]
            if internal:
                await session.execute(sa.insert(_internal_t), internal)
        for c in changes.changed:
            pid = ids[c.sku]
            assert c.after is not None
            await session.execute(
                sa.update(_product_t)
                .where(_product_t.c.id == pid)
                .values(_product_values(c.after, position[c.sku]))
            )
            if "rules" in c.fields:
                await session.execute(sa.delete(_rule_t).where(_rule_t.c.product_id == pid))
                if c.after.rules:
                    await session.execute(sa.insert(_rule_t), _rule_values(pid, c.after.rules))
            if c.internal_changed:
                await session.execute(sa.delete(_internal_t).where(_internal_t.c.product_id == pid))
                if spec.internal.get(c.sku):
                    await session.execute(
                        sa.insert(_internal_t).values(
                            product_id=pid, data=dict(spec.internal[c.sku])
                        )
                    )
        # Keep file order for export; only rows whose place moved are touched.
        current = {
            r.sku: r.position
            for r in await session.execute(sa.select(_product_t.c.sku, _product_t.c.position))
        }
        for sku, pos in position.items():
            if current.get(sku) != pos:
                await session.execute(
                    sa.update(_product_t).where(_product_t.c.sku == sku).values(position=pos)
                )

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
