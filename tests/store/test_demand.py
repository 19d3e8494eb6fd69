"""Revenue at stake in SQL, on SQLite and PostgreSQL: the database's aggregates agree with
each item's own figures (bot.items.stakes_of), the ranking's order and filters, a merge
bringing its clients along, the migration filling what was stored before it, and (on
PostgreSQL at 100k items) the ranked list read from its index without scanning the items."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history_data import seed_history
from bot.catalog import CatalogService
from bot.demand import DemandQuery, DemandService, Rates
from bot.feedback import Action, Decided, FeedbackService, Settings, Submitted, Supported
from bot.items import Status
from bot.types import UserRef
from store import migrate
from store.demand_repo import SqlDemand
from store.feedback_repo import SqlFeedbackRepository
from tests.conftest import demo_text
from tests.store.test_history_scale import _plans, _seed, _seq_scans

PM = UserRef("slack", "U0PM1")
RATES = {"USD": 1.0, "EUR": 1.1}


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
async def svc(catalog_service: CatalogService, engine: AsyncEngine) -> FeedbackService:
    await catalog_service.import_catalog(demo_text())
    return FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=Clock(),
        settings=Settings(product_managers=frozenset({PM.id})),
        demand=SqlDemand(engine),
        rates=Rates({"EUR": 1.1}),
    )


def values(**over: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "Acme Corp",
        "region": "AU",
        "deal_value": "250000",
        "currency": "USD",
        "details": "Needs SAML single sign-on before they sign the renewal.",
        "duplicate_of": "new",
    }
    base.update(over)
    return base


def ranked_list(engine: AsyncEngine, catalog_service: CatalogService) -> DemandService:
    return DemandService(
        reader=SqlDemand(engine),
        items=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=Clock(),
        rates=Rates({"EUR": 1.1}),
    )


async def new(svc: FeedbackService, user: str = "U1", **over: str | None) -> int:
    made = await svc.submit(user=UserRef("slack", user), values=values(**over))
    assert isinstance(made, Submitted), made
    return made.item.id


async def plus_one(svc: FeedbackService, item: int, user: str, **over: str | None) -> None:
    done = await svc.submit(
        user=UserRef("slack", user), values=values(duplicate_of=str(item), **over)
    )
    assert isinstance(done, Supported), done


async def test_the_database_counts_each_client_once_like_the_item_does(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    a = await new(svc)
    await plus_one(svc, a, "U2", client="acme  CORP", deal_value="300000")  # the same client
    await plus_one(svc, a, "U3", client="Globex", deal_value="90000", currency="EUR")
    await plus_one(svc, a, "U4", client="Initech", deal_value="")
    await plus_one(svc, a, "U3", client="Globex", deal_value="90000", currency="EUR")  # again
    item = await svc.get(a)
    assert item is not None and item.revenue == {"USD": 300_000, "EUR": 90_000}
    demand = SqlDemand(engine)
    query = DemandQuery(rates=RATES)
    [ranked] = await demand.ranked(query, limit=10)
    assert (ranked.item_id, ranked.clients, ranked.rank) == (a, 3, pytest.approx(399_000))
    [product] = await demand.by_product(query)
    assert (product.product_sku, product.items, product.clients) == ("WDG-PRO", 1, 3)
    assert product.revenue == item.revenue and product.kinds == {"feature_request": 1}
    assert await demand.revenue_by_region(query) == {"AU": {"USD": 300_000, "EUR": 90_000}}


async def test_a_client_on_two_items_counts_once_in_the_roll_ups(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    """Acme's $250,000 named on two Widget Pro items is $250,000 at stake for Widget Pro and
    for Australia (its largest deal, not the sum over items); its deal in euros is another
    figure, as on an item; the ranked list still weighs each item on its own."""
    a = await new(svc)
    b = await new(svc, "U2", details="Wants an audit log export for the bank")
    await plus_one(svc, b, "U3", client="Globex", deal_value="90000", currency="EUR")
    c = await new(svc, "U4", deal_value="100000", currency="EUR",
                  details="Wants SCIM provisioning for the staff directory")  # fmt: skip
    demand = SqlDemand(engine)
    query = DemandQuery(rates=RATES)
    [product] = await demand.by_product(query)
    assert (product.items, product.clients) == (3, 2)
    assert product.revenue == {"USD": 250_000, "EUR": 190_000}
    assert await demand.revenue_by_region(query) == {"AU": {"USD": 250_000, "EUR": 190_000}}
    ranked = {r.item_id: r.rank for r in await demand.ranked(query, limit=10)}
    assert ranked == {
        a: pytest.approx(250_000),
        b: pytest.approx(349_000),
        c: pytest.approx(110_000),
    }


async def test_ranked_by_revenue_then_clients_then_age_with_its_filters(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    clock = svc._clock
    assert isinstance(clock, Clock)
    words = ("exports", "latency", "billing", "sensors", "tariffs", "audits", "pricing")
    texts = iter(f"Request number {n} about {w} for the renewal" for n, w in enumerate(words))

    async def at(day: int, **over: str | None) -> int:
        clock.at = dt.datetime(2026, 10, day, 9, 0, tzinfo=dt.UTC)
        return await new(svc, details=next(texts), **over)

    small = await at(1, deal_value="100000")
    two = await at(2, deal_value="100000")
    await plus_one(svc, two, "U9", client="Globex", deal_value="")
    none = await at(3, deal_value="")
    euros = await at(4, deal_value="100000", currency="JPY")  # no rate: adds nothing
    big = await at(5, deal_value="500000", region="NZ", product="LDG-SYNC")
    old = await at(6, deal_value="")
    demand = SqlDemand(engine)

    async def order(**q: Any) -> list[int]:
        return [r.item_id for r in await demand.ranked(DemandQuery(rates=RATES, **q), limit=50)]

    assert await order() == [big, two, small, none, euros, old]
    assert await order(product_sku="WDG-PRO") == [two, small, none, euros, old]
    assert await order(regions=("APAC", "NZ")) == [big]
    since = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    until = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    assert await order(since=since, until=until) == [two, none, euros]
    assert await demand.count(DemandQuery(since=since, until=until)) == 3
    # Decided items leave the open list; the weekly list keeps only new and later.
    await svc.decide(user=PM, item_id=big, action=Action.NOW)
    await svc.decide(user=PM, item_id=big, action=Action.ACTIONED)
    assert await order() == [two, small, none, euros, old]
    await svc.decide(user=PM, item_id=two, action=Action.LATER)
    await svc.decide(user=PM, item_id=small, action=Action.NOW)
    assert await order(statuses=(Status.NEW, Status.LATER)) == [two, none, euros, old]
    # The PM queue (new items only) is in the same order: the newest first, for its deal.
    late = await at(7, deal_value="50000")
    home = await svc.home(PM)
    assert [i.id for i in home.queue or ()] == [late, none, euros, old]
    [product] = [p for p in await demand.by_product(DemandQuery()) if p.product_sku == "WDG-PRO"]
    # Acme is behind three of them: its largest deal counts, not the sum of the three.
    assert product.revenue == {"USD": 100_000, "JPY": 100_000} and product.items == 6


async def test_a_merge_brings_the_clients_and_their_deals_along(
    svc: FeedbackService, engine: AsyncEngine, catalog_service: CatalogService
) -> None:
    a = await new(svc)
    await plus_one(svc, a, "U2", client="Globex", deal_value="90000", currency="EUR")
    b = await new(svc, "U5", client="Umbrella", deal_value="400000", product="LDG-SYNC",
                  details="Wants an Xero connector for the ledger team")  # fmt: skip
    merged = await svc.decide(user=PM, item_id=a, action=Action.MERGE, merge_into=b)
    assert isinstance(merged, Decided)
    target = await svc.get(b)
    assert target is not None
    assert [(s.client, s.via) for s in target.supporters] == [("Acme Corp", a), ("Globex", a)]
    assert target.revenue == {"USD": 650_000, "EUR": 90_000}
    top = ranked_list(engine, catalog_service)
    report = await top.top("")
    assert [r.item.id for r in report.rows] == [b] and report.rows[0].clients == 3
    assert report.rows[0].converted == 749_000
    # The weekly list names it (still new).
    assert (await top.weekly_lines())[0].startswith(f"#{b} Ledger Sync: Wants an Xero")

    # What was merged before the migration is filled in by it, as a merge does now (the
    # downgrade took the +1's deal with its column; the item's own deal is on the item).
    await migrate.downgrade(engine, "0018")
    await migrate.upgrade(engine)
    again = await svc.get(b)
    assert again is not None and again.revenue == {"USD": 650_000}
    assert [(s.client, s.via) for s in again.supporters] == [("Acme Corp", a), ("Globex", a)]
    async with engine.connect() as conn:
        keys = set(await conn.scalars(sa.text("SELECT client_key FROM feedback_supporter")))
    assert keys == {"acme corp", "globex"}


async def test_the_csv_converts_every_row_and_keeps_formulas_as_text(
    svc: FeedbackService, engine: AsyncEngine, catalog_service: CatalogService
) -> None:
    """`feedback top --out`: the base-currency column on every row (an all-USD item too),
    and a client named like a formula written as text, as the receipts CSV writes it."""
    usd = await new(svc, client='=HYPERLINK("http://x.example","Acme")')
    eur = await new(svc, "U2", client="Globex", deal_value="100000", currency="EUR",
                    details="Wants an audit log export for the bank")  # fmt: skip
    top = ranked_list(engine, catalog_service)
    rows = list(csv.DictReader(io.StringIO((await top.top("")).csv())))
    by_item = {int(r["item"]): r for r in rows}
    assert by_item[usd]["converted_to_base"] == "250000"
    assert by_item[eur]["converted_to_base"] == "110000"
    assert by_item[usd]["clients_and_deals"].startswith("'=HYPERLINK(")
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


async def test_the_ranked_list_reads_its_index_at_100k_items(
    db_url: str, engine: AsyncEngine
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: its planner")
    await _seed(engine, 100_000)
    demand = SqlDemand(engine)

    async def lists() -> None:
        assert len(await demand.ranked(DemandQuery(rates=RATES), limit=10)) == 10
        assert await demand.ranked(DemandQuery(product_sku="WDG-PRO", rates=RATES), limit=10)
        assert await demand.by_product(DemandQuery(rates=RATES))

    plans = await _plans(engine, lists)
    for _sql, nodes in plans:
        assert not _seq_scans(nodes), nodes
    # The open items' stakes come from the covering index, without a fetch of each row.
    covered = [
        n
        for _sql, nodes in plans
        for n in nodes
        if n.get("Index Name") == "ix_feedback_item_demand" and n["Node Type"] == "Index Only Scan"
    ]
    assert covered, plans


async def test_the_ranked_list_reads_a_covering_index_on_sqlite(
    db_url: str, engine: AsyncEngine
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: its planner")
    await seed_history(engine, items=2_000, briefings=0)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "feedback_item" in statement:
            seen.append((statement, params))

    demand = SqlDemand(engine)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await demand.ranked(DemandQuery(rates=RATES), limit=10)
        assert await demand.ranked(DemandQuery(product_sku="WDG-PRO", rates=RATES), limit=10)
        assert await demand.by_product(DemandQuery(rates=RATES))
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    async with engine.connect() as conn:
        for statement, params in seen:
            plan = [
                r[3] for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            items = [d for d in plan if "feedback_item" in d]
            assert items, plan
            # Every read of the items is from an index (the open ones from the covering one):
            # no scan of the table, no fetch of its wide rows for the aggregates.
            assert not [
                d for d in items if d.startswith("SCAN feedback_item") and "INDEX" not in d
            ], plan
            assert any("COVERING INDEX ix_feedback_item_demand" in d for d in items), plan
