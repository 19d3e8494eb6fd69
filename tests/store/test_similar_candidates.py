"""The duplicate check and merge targets score only candidates found through the word index:
they find what scoring every open item finds (recall on a generated history), the index
follows items as they open and close, and on PostgreSQL at 100k items the look-ups read no
table from end to end and pass no parameter list that grows with the data."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import store.feedback_repo as feedback_repo
from bench.feedback_set import seed, sentence, variant, vocabulary
from bot import matching
from bot.catalog import CatalogService
from bot.feedback import SIMILAR_THRESHOLD, Action, Decided, FeedbackService, Settings, Submitted
from bot.items import Draft, Item, Kind, Urgency
from bot.types import UserRef
from store import migrate
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository
from tests.conftest import demo_text

PM = UserRef("slack", "U0PM1")
SALES = UserRef("slack", "U0SALES1")


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def service(engine: AsyncEngine) -> FeedbackService:
    return FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=CatalogService(SqlRepository(engine)),
        clock=Clock(),
        settings=Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRI"),
    )


def draft(sku: str | None, name: str | None, details: str) -> Draft:
    return Draft(
        sku, name, Kind.FEATURE_REQUEST, "Acme", None, None, None, Urgency.NORMAL, details, None
    )


def text_of(item: Item) -> str:
    return f"{item.title} {item.details}"


def found(best: list[tuple[Item, float]], got: list[Item], query: str) -> int:
    """How many of the brute-force `best` (item, score) the answer `got` holds: the same
    item, or one as similar in its place (ties may be broken either way)."""
    got_scores = sorted(
        (s for _, s in matching.similar_scores(query, [text_of(i) for i in got], 0)),
        reverse=True,
    )
    ids = {i.id for i in got}
    return sum(
        1
        for rank, (item, score) in enumerate(best)
        if item.id in ids or (rank < len(got_scores) and got_scores[rank] == score)
    )


async def test_candidates_find_what_scoring_every_open_item_finds(engine: AsyncEngine) -> None:
    """3,000 items, half open: the open items in scope are far more than the candidates
    scored, so without a working index most of the matches would be missed."""
    seeded = await seed(engine, 3000)
    svc = service(engine)
    repo = SqlFeedbackRepository(engine)
    opens = await repo.open_items(product_sku=None)
    assert len(opens) > 4 * (feedback_repo.BY_WORDS + feedback_repo.NEWEST)
    names = dict(seeded.products)
    rng = random.Random(5)
    vocab = vocabulary(3000, random.Random(17))
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    wanted = hits = 0
    for n in range(60):
        if n % 3:  # the same ask in other words, as a duplicate arrives
            like = rng.choice(opens)
            sku, details = like.product_sku, variant(like.details, rng, vocab)
        else:
            sku = rng.choice([None, *names])
            details = sentence(rng, vocab, weights)
        new = draft(sku, names.get(sku or ""), details)
        query = f"{new.title} {new.details}"
        pool = [i for i in opens if sku is None or i.product_sku == sku]
        best = matching.similar_scores(query, [text_of(i) for i in pool], SIMILAR_THRESHOLD)[:3]
        wanted += len(best)
        hits += found([(pool[i], s) for i, s in best], await svc.similar_open(new), query)
    assert wanted >= 40  # the set makes duplicates to find
    assert hits / wanted >= 0.98, (hits, wanted)
    wanted = hits = 0
    for item in rng.sample(opens, 60):
        query = text_of(item)
        others = [i for i in opens if i.id != item.id]
        scores = matching.similar_scores(query, [text_of(i) for i in others], SIMILAR_THRESHOLD)
        best = [(others[i], s) for i, s in scores[:10]]
        wanted += len(best)
        hits += found(best, await svc.merge_targets(item), query)
    assert wanted >= 40
    assert hits / wanted >= 0.98, (hits, wanted)


async def test_the_index_follows_items_as_they_open_and_close(
    engine: AsyncEngine, catalog_service: CatalogService
) -> None:
    await catalog_service.import_catalog(demo_text())
    svc = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=Clock(),
        settings=Settings(product_managers=frozenset({PM.id})),
    )
    values: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "problem",
        "client": "Acme",
        "details": "Sync stalls on large files",
        "duplicate_of": "new",
    }
    made = await svc.submit(user=SALES, values=values)
    assert isinstance(made, Submitted)

    async def words() -> list[str]:
        async with engine.connect() as conn:
            rows = await conn.scalars(sa.text("SELECT token FROM feedback_token ORDER BY token"))
            return list(rows)

    assert await words() == matching.similarity_tokens(text_of(made.item))
    later = await svc.decide(user=PM, item_id=made.item.id, action=Action.LATER)
    assert isinstance(later, Decided) and await words()  # still open
    assert isinstance(
        await svc.decide(user=PM, item_id=made.item.id, action=Action.ACTIONED), Decided
    )
    assert await words() == []
    # Items stored before the index existed get their words from the migration.
    again = await svc.submit(user=SALES, values=values)
    assert isinstance(again, Submitted)
    await migrate.downgrade(engine, "0015")
    await migrate.upgrade(engine)
    assert await words() == matching.similarity_tokens(text_of(again.item))


# ------------------------------------------------------------------ PostgreSQL at scale

ITEMS = 100_000
OPEN_EVERY = 2  # every other item open: 50,000, more than PostgreSQL's 32,767 parameters


async def seed_sql(engine: AsyncEngine) -> None:
    """100k items and the words of the open ones, generated inside PostgreSQL (seconds, where
    inserting them from Python would take minutes): six distinct words per item."""
    words = "'needs sso w' || (i % 5000) || ' x' || ((i * 7) % 3000) || ' y' || ((i * 13) % 800)"
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                f"""
                INSERT INTO feedback_item (id, title, product_sku, product_name, kind, client,
                    urgency, details, submitter_platform, submitter_id, status, created_at,
                    updated_at)
                SELECT i, 'P' || (i % 100) || ': ' || {words}, 'P' || (i % 100), 'P' || (i % 100),
                    'feature_request', 'Client ' || (i % 997), 'normal', {words}, 'slack',
                    'U' || (i % 500), CASE WHEN i % {OPEN_EVERY} = 0 THEN 'new' ELSE 'declined' END,
                    TIMESTAMP '2026-01-01' + i * INTERVAL '5 minutes',
                    TIMESTAMP '2026-01-01' + i * INTERVAL '5 minutes'
                FROM generate_series(1, {ITEMS}) AS i
                """
            )
        )
        await conn.execute(
            sa.text(
                """
                INSERT INTO feedback_token (item_id, token, product_sku, words)
                SELECT DISTINCT id, w, product_sku, 6 FROM feedback_item,
                    regexp_split_to_table(lower(replace(title, ':', '')), ' ') AS w
                WHERE status = 'new'
                """
            )
        )
        await conn.execute(
            sa.text(f"SELECT setval(pg_get_serial_sequence('feedback_item', 'id'), {ITEMS})")
        )
        await conn.execute(sa.text("ANALYZE"))


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        seen.append((statement, params))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def big_pg(engine: AsyncEngine) -> AsyncEngine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the scale checks are PostgreSQL's (parameter limit, query plans)")
    await seed_sql(engine)
    return engine


async def test_similar_items_read_no_table_end_to_end_at_100k_items(big_pg: AsyncEngine) -> None:
    """The candidate look-up of the duplicate check (per product and not product-specific)
    and of merge targets: no statement it sends is planned to scan the items table."""
    repo = SqlFeedbackRepository(big_pg)
    tokens = matching.similarity_tokens("P8: needs sso w8 x56 y104 for the renewal")
    with statements(big_pg) as seen:
        per_product = await repo.similar_candidates(tokens=tokens, product_sku="P8", exclude=None)
        anywhere = await repo.similar_candidates(tokens=tokens, product_sku=None, exclude=10)
    assert 8 in {c.id for c in per_product} and 8 in {c.id for c in anywhere}
    assert any("feedback_token" in s for s, _ in seen)
    async with big_pg.connect() as conn:
        for statement, params in seen:
            plan = "\n".join(
                r[0] for r in await conn.exec_driver_sql("EXPLAIN " + statement, params)
            )
            # (A word in half the items may be counted by a short scan of the word table
            # that stops at COMMON: the planner's cheapest way, bounded all the same.)
            assert "Seq Scan on feedback_item" not in plan, (statement, plan)


async def test_every_operation_works_with_more_open_items_than_parameters(
    big_pg: AsyncEngine, catalog_service: CatalogService
) -> None:
    """50,000 open items: the duplicate check (per product and not product-specific), merge
    targets, a new item and a decision all answer; none sends more parameters than its
    own text has words."""
    await catalog_service.import_catalog(demo_text())
    svc = FeedbackService(
        repo=SqlFeedbackRepository(big_pg),
        catalog=catalog_service,
        clock=Clock(),
        settings=Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRI"),
    )
    with statements(big_pg) as seen:
        assert await svc.similar_open(draft("P4", "P4", "needs sso w4 x28 y52"))
        assert await svc.similar_open(draft(None, None, "needs sso w6 x42 y78 now"))
        item = await svc.get(20)
        assert item is not None and len(await svc.merge_targets(item)) == 50
        made = await svc.submit(
            user=SALES,
            values={
                "product": "WDG-PRO",
                "kind": "problem",
                "client": "Acme",
                "details": "needs sso w3 x21 y39 on Widget Pro",
                "duplicate_of": "new",
            },
        )
        assert isinstance(made, Submitted)
        merged = await svc.decide(
            user=PM, item_id=made.item.id, action=Action.MERGE, merge_into=20, note="same"
        )
        assert isinstance(merged, Decided)
    widest = max(len(p) if isinstance(p, tuple | list | dict) else 0 for _, p in seen)
    assert widest <= feedback_repo.BY_WORDS + feedback_repo.NEWEST, widest
