"""Revenue at stake in SQL: each item's clients counted once (per client and currency, at
its largest deal), ranked, rolled up per product or per region; no item read out to add up."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demand import DemandQuery, ProductDemand, Ranked
from store.models import FeedbackItemRow, FeedbackSupporterRow
from store.scoping import visible

_item_t = FeedbackItemRow.__table__  # type: ignore[attr-defined]
_sup_t = FeedbackSupporterRow.__table__  # type: ignore[attr-defined]


def _where(q: DemandQuery) -> Any:
    """The items the query counts, of the request's workspace (every read here filters by
    it; an item's supporters are read through it)."""
    where = [visible(_item_t.c.scope), _item_t.c.status.in_(sorted(s.value for s in q.statuses))]
    if q.product_sku is not None:
        where.append(_item_t.c.product_sku == q.product_sku)
    if q.regions is not None:
        where.append(_item_t.c.region_code.in_(list(q.regions)))
    if q.since is not None:
        where.append(_item_t.c.created_at >= q.since)
    if q.until is not None:
        where.append(_item_t.c.created_at < q.until)
    return sa.and_(*where)


def _clients(q: DemandQuery) -> sa.Subquery:
    """(item_id, product_sku, region_code, created_at, client_key, currency, value): one row
    per client and currency of every item the query counts, its submitter's and those added
    or merged in, at its largest deal (bot.items.stakes_of applies the same rule to one
    item). The item's own columns ride along, so nothing joins back to the items."""
    item = (_item_t.c.product_sku, _item_t.c.region_code, _item_t.c.created_at)
    own = sa.select(
        _item_t.c.id.label("item_id"),
        *item,
        _item_t.c.client_key.label("client_key"),
        _item_t.c.deal_currency.label("currency"),
        _item_t.c.deal_value.label("value"),
    ).where(_where(q))
    added = (
        sa.select(
            _sup_t.c.item_id,
            *item,
            _sup_t.c.client_key,
            _sup_t.c.deal_currency,
            _sup_t.c.deal_value,
        )
        .join(_item_t, _item_t.c.id == _sup_t.c.item_id)
        .where(_where(q))
    )
    every = sa.union_all(own, added).subquery("every_client")
    keys = (
        every.c.item_id,
        every.c.product_sku,
        every.c.region_code,
        every.c.created_at,
        every.c.client_key,
        every.c.currency,
    )
    return (
        sa.select(*keys, sa.func.max(every.c.value).label("value"))
        .group_by(*keys)
        .subquery("clients")
    )


def _rate(currency: Any, rates: dict[str, float]) -> Any:
    """What one unit of `currency` is worth in the base currency; 0 without a rate."""
    return sa.case(
        *((currency == c, sa.cast(sa.literal(r), sa.Float)) for c, r in sorted(rates.items())),
        else_=0.0,
    )


def _in_base(clients: sa.Subquery, rates: dict[str, float]) -> Any:
    """A client's deal in the base currency; 0 for a currency without a rate."""
    return clients.c.value * _rate(clients.c.currency, rates)


def _added(q: DemandQuery) -> sa.Subquery:
    """Per item the query counts, what its added clients (+1s and merged-in) bring beyond
    its own: each other client and currency at its largest deal, and for the item's own
    client in its own currency only what the largest +1 exceeds the item's deal by (the
    rule of _clients, worked out over the few items with added clients only)."""
    own = (
        _item_t.c.client_key.label("own_key"),
        _item_t.c.deal_currency.label("own_currency"),
        _item_t.c.deal_value.label("own_value"),
    )
    groups = (
        sa.select(
            _sup_t.c.item_id,
            _sup_t.c.client_key,
            _sup_t.c.deal_currency.label("currency"),
            sa.func.max(_sup_t.c.deal_value).label("value"),
            *own,
        )
        .join(_item_t, _item_t.c.id == _sup_t.c.item_id)
        .where(_where(q))
        .group_by(_sup_t.c.item_id, _sup_t.c.client_key, _sup_t.c.deal_currency, *own)
        .subquery("added_groups")
    )
    g = groups.c
    own_group = sa.and_(g.client_key == g.own_key, g.currency == g.own_currency)
    beyond = sa.case(
        (own_group, sa.case((g.value > g.own_value, g.value - g.own_value), else_=0)),
        else_=g.value,
    )
    others = sa.case((g.client_key != g.own_key, g.client_key))
    return (
        sa.select(
            g.item_id,
            sa.func.sum(beyond * _rate(g.currency, dict(q.rates))).label("stake"),
            sa.func.count(sa.distinct(others)).label("clients"),
        )
        .group_by(g.item_id)
        .subquery("added")
    )


def _largest_deals(clients: sa.Subquery, scope: Any) -> sa.Subquery:
    """(scope, client_key, currency, value): a client's largest deal per currency within a
    product or region, however many of its items name it. A roll-up adds these up: Acme's
    $250,000 on two Widget Pro items is $250,000 at stake for Widget Pro, not $500,000 (the
    ranked list weighs each item on its own). A client's deals in two currencies are two
    figures, as an item's are."""
    keys = (scope.label("scope"), clients.c.client_key, clients.c.currency)
    return (
        sa.select(*keys, sa.func.max(clients.c.value).label("value"))
        .where(clients.c.currency.is_not(None), clients.c.value.is_not(None))
        .group_by(*keys)
        .subquery("largest_deals")
    )


class SqlDemand:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ranked(self, query: DemandQuery, *, limit: int, offset: int = 0) -> list[Ranked]:
        # Each item's own client from its row (the covering index), and what its added
        # clients bring (grouped over the few items with any), summed per item: one
        # grouping of one row per item, not of every client's rows.
        rates = dict(query.rates)
        own = sa.select(
            _item_t.c.id.label("item_id"),
            sa.func.coalesce(
                _item_t.c.deal_value * _rate(_item_t.c.deal_currency, rates), 0.0
            ).label("stake"),
            sa.literal(1).label("clients"),
            _item_t.c.created_at.label("created_at"),
        ).where(_where(query))
        added = _added(query)
        more = sa.select(
            added.c.item_id,
            sa.func.coalesce(added.c.stake, 0.0),
            added.c.clients,
            sa.cast(sa.null(), _item_t.c.created_at.type),
        )
        every = sa.union_all(own, more).subquery("per_item")
        statement = (
            sa.select(
                every.c.item_id,
                sa.func.sum(every.c.clients).label("client_count"),
                sa.func.sum(every.c.stake).label("stake"),
                sa.func.max(every.c.created_at).label("created"),
            )
            .group_by(every.c.item_id)
            # Most at stake, then most clients, then the longest waiting.
            .order_by(sa.desc("stake"), sa.desc("client_count"), sa.asc("created"), every.c.item_id)
            .limit(limit)
            .offset(offset)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(statement)
            return [Ranked(r.item_id, int(r.client_count), float(r.stake)) for r in rows]

    async def count(self, query: DemandQuery) -> int:
        async with self.engine.connect() as conn:
            statement = sa.select(sa.func.count()).select_from(_item_t).where(_where(query))
            return int(await conn.scalar(statement) or 0)

    async def by_product(self, query: DemandQuery) -> list[ProductDemand]:
        clients = _clients(query)
        sku = clients.c.product_sku
        deals = _largest_deals(clients, sku)
        revenue = sa.select(deals.c.scope, deals.c.currency, sa.func.sum(deals.c.value)).group_by(
            deals.c.scope, deals.c.currency
        )
        distinct = sa.select(sku, sa.func.count(sa.distinct(clients.c.client_key))).group_by(sku)
        kinds = (
            sa.select(_item_t.c.product_sku, _item_t.c.kind, sa.func.count())
            .where(_where(query))
            .group_by(_item_t.c.product_sku, _item_t.c.kind)
        )
        money: dict[str | None, dict[str, int]] = {}
        names: dict[str | None, int] = {}
        by_kind: dict[str | None, dict[str, int]] = {}
        async with self.engine.connect() as conn:
            for p, currency, total in await conn.execute(revenue):
                money.setdefault(p, {})[currency] = int(total)
            for p, n in await conn.execute(distinct):
                names[p] = int(n)
            for p, kind, n in await conn.execute(kinds):
                by_kind.setdefault(p, {})[kind] = int(n)
        return [
            ProductDemand(
                p,
                sum(k.values()),
                names.get(p, 0),
                dict(sorted(money.get(p, {}).items(), key=lambda kv: (-kv[1], kv[0]))),
                dict(sorted(k.items(), key=lambda kv: (-kv[1], kv[0]))),
            )
            for p, k in by_kind.items()
        ]

    async def revenue_by_region(self, query: DemandQuery) -> dict[str, dict[str, int]]:
        clients = _clients(query)
        deals = _largest_deals(clients, sa.func.coalesce(clients.c.region_code, ""))
        statement = sa.select(deals.c.scope, deals.c.currency, sa.func.sum(deals.c.value)).group_by(
            deals.c.scope, deals.c.currency
        )
        out: dict[str, dict[str, int]] = {}
        async with self.engine.connect() as conn:
            for code, currency, total in await conn.execute(statement):
                out.setdefault(code, {})[currency] = int(total)
        return out
