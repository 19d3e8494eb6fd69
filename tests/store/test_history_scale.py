"""A long history on PostgreSQL: the queue reads its pages from an index (EXPLAIN at 100k
items: no sequential scan over the items, no sort), and with more open items than a
statement may carry parameters (32,767) every history read still answers; on SQLite the
coverage report's period reads come from a covering index, never from the item rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history_data import NOW, seed_history
from bot.catalog import CatalogService
from bot.feedback import QUEUE_PAGE, FeedbackService, Settings
from bot.items import Status
from bot.reports import CoverageService, Report
from bot.types import UserRef
from store.coverage_repo import SqlCoverage
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository
from tests.conftest import demo_text

PM = UserRef("slack", "U0PM1")
SALES = UserRef("slack", "U7")


class Clock:
    def now(self) -> Any:
        return NOW


@pytest.fixture
def pg(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: its planner and its parameter limit")


@pytest.fixture
def sqlite(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: its planner")


async def _seed(engine: AsyncEngine, items: int) -> None:
    await seed_history(engine, items=items, briefings=2000)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM ANALYZE"))


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


async def _plans(engine: AsyncEngine, run: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """The plan of every statement `run` makes that reads feedback_item."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "feedback_item" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await run()
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    plans = []
    async with engine.connect() as conn:
        for statement, params in seen:
            raw = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params)
            plan = raw.scalar()
            tree = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            plans.append((statement, _nodes(tree)))
    assert plans
    return plans


def _seq_scans(nodes: list[dict[str, Any]]) -> list[str]:
    return [
        n["Node Type"]
        for n in nodes
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "feedback_item"
    ]


async def test_queue_pages_read_the_index_at_100k_items(pg: None, engine: AsyncEngine) -> None:
    await _seed(engine, 100_000)
    repo = SqlFeedbackRepository(engine)

    async def first_and_deep_pages() -> None:
        assert len(await repo.queue_page(limit=QUEUE_PAGE)) == QUEUE_PAGE
        assert len(await repo.queue_page(limit=QUEUE_PAGE, offset=20_000)) == QUEUE_PAGE

    plans = await _plans(engine, first_and_deep_pages)
    pages = [nodes for sql, nodes in plans if "ORDER BY feedback_item.created_at" in sql]
    assert len(pages) == 2
    for _sql, nodes in plans:  # the pages and the reads of their supporters and merged items
        assert not _seq_scans(nodes), nodes
    for nodes in pages:
        assert not _seq_scans(nodes), nodes
        # In queue order straight from ix_feedback_item_queue: nothing sorted.
        assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], nodes
        assert any(n.get("Index Name") == "ix_feedback_item_queue" for n in nodes), nodes

    async def mine() -> None:
        assert await repo.items_for(user=SALES, limit=20)
        assert await repo.count_for(user=SALES)

    for _sql, nodes in await _plans(engine, mine):
        assert not _seq_scans(nodes), nodes


async def test_more_open_items_than_a_statement_has_parameters(
    pg: None, engine: AsyncEngine
) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    await _seed(engine, 70_000)
    repo = SqlFeedbackRepository(engine)
    counts = await repo.queue_counts()
    assert sum(counts.values()) > 33_000  # over asyncpg's 32,767 parameters a statement
    feedback = FeedbackService(
        repo=repo,
        catalog=catalog,
        clock=Clock(),  # type: ignore[arg-type]
        settings=Settings(product_managers=frozenset({PM.id})),
    )
    report = await CoverageService(
        figures=SqlCoverage(engine), catalog=catalog, clock=Clock()
    ).report(  # type: ignore[arg-type]
        "last 365 days"
    )
    assert sum(r.submitted for r in report.regions) > 33_000
    pm_home = await feedback.home(PM)
    assert pm_home.queue is not None and len(pm_home.queue) == QUEUE_PAGE
    assert pm_home.waiting == counts[Status.NEW] > 20_000
    deep = await feedback.home(PM, page=2_000)
    assert deep.queue is not None and len(deep.queue) == QUEUE_PAGE
    sales_home = await feedback.home(SALES)
    assert (
        sales_home.queue is None
        and sales_home.mine
        and sales_home.mine_total >= len(sales_home.mine)
    )
    # Every open item at once still reads (one statement per table, no list of ids).
    assert len(await repo.open_items(product_sku=None)) == sum(counts.values())


async def _report_reading_items(
    engine: AsyncEngine, *, items: int, briefings: int
) -> tuple[Report, list[tuple[str, Any]]]:
    """`/coverage last 365 days` over a seeded history, and the statements it ran that read
    the feedback items, with their parameters."""
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    await seed_history(engine, items=items, briefings=briefings)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "feedback_item" in statement:
            seen.append((statement, params))

    service = CoverageService(figures=SqlCoverage(engine), catalog=catalog, clock=Clock())  # type: ignore[arg-type]
    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        report = await service.report("last 365 days")
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    return report, seen


async def test_coverage_reads_its_period_from_a_covering_index_on_sqlite(
    sqlite: None, engine: AsyncEngine
) -> None:
    _report, seen = await _report_reading_items(engine, items=2_000, briefings=200)
    assert len(seen) == 2  # the counts and the medians
    async with engine.connect() as conn:
        for statement, params in seen:
            plan = [
                r[3] for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            period = [d for d in plan if "feedback_item" in d and "created_at>?" in d]
            # Fetching each row of the period from the table is what cost seconds at 100k.
            assert period == [
                "SEARCH feedback_item USING COVERING INDEX ix_feedback_item_coverage"
                " (scope=? AND created_at>? AND created_at<?)"
            ], plan
            assert not [d for d in plan if d.startswith("SCAN feedback_item")], plan


def _item_loops_with_a_loop_inside(plan: list[tuple[int, int, str]]) -> list[str]:
    """The joins of an EXPLAIN QUERY PLAN whose outer loop runs over the period's items one
    by one (the index search itself, or a CTE materialised from it without grouping) with
    another loop inside: a scan or search per item. Loops of one join are siblings, outer
    first."""
    children: dict[int, list[tuple[int, str]]] = {}
    for node, parent, detail in plan:
        children.setdefault(parent, []).append((node, detail))
    item_rows = set()
    for node, _parent, detail in plan:
        if detail.startswith("MATERIALIZE "):
            inside = [d for _n, d in children.get(node, [])]
            if any("feedback_item" in d for d in inside) and not any(
                "GROUP BY" in d for d in inside
            ):
                item_rows.add(f"SCAN {detail.removeprefix('MATERIALIZE ')}")
    found = []
    for siblings in children.values():
        for k, (_node, detail) in enumerate(siblings):
            if detail in item_rows or detail.startswith("SEARCH feedback_item"):
                found += [
                    f"{detail} > {d}"
                    for _n, d in siblings[k + 1 :]
                    if d.startswith(("SCAN", "SEARCH"))
                ]
    return found


async def test_coverage_never_loops_over_the_region_roll_up_per_item_on_sqlite(
    sqlite: None, engine: AsyncEngine
) -> None:
    """The medians joined each decided item to the roll-up: once the scope's equality made
    SQLite expect few items, it scanned the roll-up for each one, with no index (seconds at
    100k items). No statement of the report joins the items one by one to anything."""
    report, seen = await _report_reading_items(engine, items=500, briefings=50)
    assert any(r.median_hours_to_decision is not None for r in report.regions)
    assert len(seen) == 2  # the counts and the medians
    async with engine.connect() as conn:
        for statement, params in seen:
            plan = [
                (int(r[0]), int(r[1]), str(r[3]))
                for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            assert any("feedback_item" in d for _n, _p, d in plan), plan
            assert not _item_loops_with_a_loop_inside(plan), plan
