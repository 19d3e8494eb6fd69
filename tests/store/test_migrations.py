"""Migrations apply to a database that already holds data: feedback items with their audit
trail and supporters (rows that refer to the items), briefings and outbox rows. Down to
revision 0007 (before the outbox claims, submission keys and later) and back up, nothing is lost."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog import CatalogService
from bot.feedback import FeedbackService, Settings, Submitted
from bot.types import UserRef
from store import migrate
from store.feedback_repo import SqlFeedbackRepository
from store.repository import SqlRepository
from tests.conftest import demo_text
from tests.handlers.slack.test_delivery_faults import Clock


async def test_migrations_keep_existing_rows(engine: AsyncEngine) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine), catalog=catalog, clock=Clock(), settings=Settings()
    )
    values: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "problem",
        "client": "Acme",
        "details": "Sync stalls on large files",
        "duplicate_of": "new",
    }
    made = await feedback.submit(user=UserRef("slack", "U0SALES1"), values=values)
    assert isinstance(made, Submitted)
    await migrate.downgrade(engine, "0007")
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        counts = {
            t: await conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("feedback_item", "feedback_event", "outbox")
        }
    assert counts == {"feedback_item": 1, "feedback_event": 1, "outbox": 1}
    again = await feedback.get(made.item.id)
    assert again is not None and again.title == made.item.title
    assert again.created_at.replace(tzinfo=dt.UTC) == made.item.created_at.replace(tzinfo=dt.UTC)


async def test_lookup_misses_counted_before_workspaces_were_kept_apart_are_the_shared_pool_s(
    engine: AsyncEngine,
) -> None:
    from store.updates_repo import SqlUpdatesRepository

    await migrate.downgrade(engine, "0023")
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO lookup_miss (query, region_code, day, count, first_at, last_at) "
                "VALUES ('quantum toaster', 'DE', :day, 3, :at, :at)"
            ),
            {"day": monday.date(), "at": monday},
        )
    await migrate.upgrade(engine)
    repo = SqlUpdatesRepository(engine)
    assert await repo.misses(since=monday) == [("quantum toaster", "DE", 3)]
    # The key now leads with the scope: the same question in another scope is its own row.
    await repo.record_misses(counts=[("slack::T0AAA", "quantum toaster", "DE", 1)], at=monday)
    await repo.record_misses(counts=[("", "quantum toaster", "DE", 1)], at=monday)
    assert await repo.misses(since=monday) == [("quantum toaster", "DE", 4)]
    await repo.record_misses(counts=[("slack::T0BBB", "quantum toaster", "DE", 2)], at=monday)
    await migrate.downgrade(engine, "0023")  # and back: one row, every question counted
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT query, count FROM lookup_miss"))).all()
    assert [tuple(r) for r in rows] == [("quantum toaster", 7)]
    await migrate.upgrade(engine)


async def test_going_back_to_one_pool_keeps_every_persons_opt_out_once(
    engine: AsyncEngine,
) -> None:
    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    # U0A opted out in two workspaces and the shared pool, U0B in one workspace only, U0C in
    # two workspaces: each keeps exactly one row, and nobody's opt-out is lost.
    rows = [
        ("", "U0A"),
        ("slack::T0AAA", "U0A"),
        ("slack::T0BBB", "U0A"),
        ("slack::T0BBB", "U0B"),
        ("slack::T0AAA", "U0C"),
        ("slack::T0BBB", "U0C"),
    ]
    async with engine.begin() as conn:
        for scope, user in rows:
            await conn.execute(
                sa.text(
                    "INSERT INTO notice_opt_out (scope, platform, user_id, at) "
                    "VALUES (:scope, 'slack', :user, :at)"
                ),
                {"scope": scope, "user": user, "at": at},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO product_subscription (scope, platform, user_id, sku, "
                    "created_at) VALUES (:scope, 'slack', :user, 'WDG-PRO', :at)"
                ),
                {"scope": scope, "user": user, "at": at},
            )
    await migrate.downgrade(engine, "0024")
    async with engine.connect() as conn:
        for table in ("notice_opt_out", "product_subscription"):
            kept = await conn.execute(sa.text(f"SELECT user_id FROM {table} ORDER BY user_id"))
            assert [r[0] for r in kept] == ["U0A", "U0B", "U0C"], table
    await migrate.upgrade(engine)


async def test_conversation_references_are_kept_per_tenant_and_back_to_one_per_key(
    engine: AsyncEngine,
) -> None:
    from bot import workspace
    from bot.workspace import Workspace
    from store.conversations import SqlConversations

    await migrate.downgrade(engine, "0025")
    old = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        for key in ("teams:triage", "teams:user:u1"):
            await conn.execute(
                sa.text(
                    "INSERT INTO conversation_ref (key, reference, updated_at) "
                    "VALUES (:key, :ref, :at)"
                ),
                {"key": key, "ref": '{"id": "before"}', "at": old},
            )
    await migrate.upgrade(engine)
    store = SqlConversations(engine)
    # Stored before: the shared pool's, read as before by a deployment serving one tenant.
    assert await store.get(key="teams:triage") == {"id": "before"}
    tenant_a = Workspace("teams", None, "tenant-a", isolated=True)
    tenant_b = Workspace("teams", None, "tenant-b", isolated=True)
    with workspace.using(tenant_a):
        assert await store.get(key="teams:triage") is None
        await store.save(key="teams:triage", reference={"id": "a"})
        await store.save(key="teams:user:u2", reference={"id": "a"})
    with workspace.using(tenant_b):
        await store.save(key="teams:triage", reference={"id": "b"})  # the newest triage
    async with engine.begin() as conn:  # A's user reference is older than the shared one
        await conn.execute(
            sa.text("UPDATE conversation_ref SET updated_at = :at WHERE scope = :scope"),
            {"at": old - dt.timedelta(days=1), "scope": tenant_a.scope},
        )
    await migrate.downgrade(engine, "0025")  # back to one reference per key: the newest
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT key, reference FROM conversation_ref"))
        kept = {r[0]: r[1] if isinstance(r[1], dict) else json.loads(r[1]) for r in rows}
    assert kept == {
        "teams:triage": {"id": "b"},
        "teams:user:u1": {"id": "before"},
        "teams:user:u2": {"id": "a"},
    }
    await migrate.upgrade(engine)


async def test_where_approval_cards_were_posted_comes_and_goes_alone(engine: AsyncEngine) -> None:
    """0029 adds approval_card (scoped, keyed by the request's workspace); going back drops
    only it: the requests and their decisions stay, and up again it works from empty."""
    from alembic.script import ScriptDirectory

    from bot.approvals import ApprovalDraft, CardPlace
    from store.approvals_repo import SqlApprovals

    script = ScriptDirectory.from_config(migrate.alembic_config())
    before = script.get_revision("0029").down_revision
    assert isinstance(before, str)
    repo = SqlApprovals(engine)
    at = dt.datetime(2026, 12, 4, 9, tzinfo=dt.UTC)
    draft = ApprovalDraft(
        "WDG-PRO", "Widget Pro", "JP", "Japan", None, "Restricted", "Acme", 1, "USD", "why",
        None, "slack:C0APPROVALS",
    )  # fmt: skip
    made = await repo.create(draft=draft, requester=UserRef("slack", "U0REP"), at=at,
                             notifications=lambda r: [], submission_key=None)  # fmt: skip
    place = CardPlace("C0APPROVALS", "1700000000.000100")
    await repo.remember_card(request_id=made.id, platform="slack", place=place, at=at)
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("approval_card")}
        )
    assert {"scope", "request_id", "platform", "channel", "message"} <= columns
    await migrate.downgrade(engine, before)
    async with engine.connect() as conn:
        assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("approval_card"))
    assert await repo.get(request_id=made.id) is not None
    await migrate.upgrade(engine)
    assert await repo.cards(request_id=made.id, platform="slack") == []
    await repo.remember_card(request_id=made.id, platform="slack", place=place, at=at)
    await repo.remember_card(request_id=made.id, platform="slack", place=place, at=at)  # once
    assert await repo.cards(request_id=made.id, platform="slack") == [place]


async def test_briefings_logged_before_workspaces_were_kept_apart_are_the_shared_pool_s(
    engine: AsyncEngine,
) -> None:
    from bot import workspace
    from bot.workspace import Workspace
    from store.briefings_repo import SqlBriefingRepository

    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    briefing = (
        "INSERT INTO briefing (id, pm_platform, pm_id, held_on, regions, attendees, people, "
        "products, shared, minutes, submission_key, created_at, updated_at) VALUES (:id, "
        "'slack', 'U0PM', :day, '[\"AU\"]', '[]', 3, '[]', 'Roadmap', 30, :key, :at, :at)"
    )
    deck = (
        "INSERT INTO briefing_deck (briefing_id, name, content_type, size, data, created_at) "
        "VALUES (:id, 'deck.pdf', 'application/pdf', 1, :data, :at)"
    )
    await migrate.downgrade(engine, "0025")
    async with engine.begin() as conn:
        await conn.execute(sa.text(briefing), {"id": 1, "day": at.date(), "key": "k1", "at": at})
        await conn.execute(sa.text(deck), {"id": 1, "data": b"x", "at": at})
    await migrate.upgrade(engine)
    repo = SqlBriefingRepository(engine)
    [kept] = await repo.briefings()  # the shared pool's, deck and all
    assert kept.id == 1 and kept.kept is not None
    with workspace.using(Workspace("slack", None, "T0A", isolated=True)):
        assert await repo.briefings() == []
    # Two workspaces' briefings, one submission key between them: going back to one pool
    # keeps every briefing and deck, the key on one of them.
    async with engine.begin() as conn:
        for scope, i in (("slack::T0A", 2), ("slack::T0B", 3)):
            await conn.execute(
                sa.text(briefing.replace("(id,", "(scope, id,").replace("(:id,", "(:scope, :id,")),
                {"scope": scope, "id": i, "day": at.date(), "key": "same", "at": at},
            )
            await conn.execute(sa.text(deck), {"id": i, "data": b"x", "at": at})
    await migrate.downgrade(engine, "0025")
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT id, submission_key FROM briefing"))).all()
        decks = await conn.scalar(sa.text("SELECT count(*) FROM briefing_deck"))
    assert sorted(tuple(r) for r in rows) == [(1, "k1"), (2, "same"), (3, None)]
    assert decks == 3
    await migrate.upgrade(engine)


async def test_feedback_of_every_workspace_survives_going_back_to_one_pool_and_up_again(
    engine: AsyncEngine,
) -> None:
    from bot import workspace
    from bot.items import Draft, Kind, Urgency
    from bot.workspace import Workspace

    repo = SqlFeedbackRepository(engine)
    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    ask = Draft(
        "WDG-PRO",
        "Widget Pro",
        Kind.FEATURE_REQUEST,
        "Acme",
        "AU",
        None,
        None,
        Urgency.NORMAL,
        "Needs SAML single sign-on",
        None,
    )
    made = []
    # The same form submission key in two workspaces, and an item of the shared pool.
    for ws, key in (
        (Workspace("slack", None, "T0BBB", isolated=True), "view-1"),
        (Workspace("slack", None, "T0AAA", isolated=True), "view-1"),
        (None, "view-2"),
    ):
        with workspace.using(ws):
            made.append(
                await repo.create_item(
                    draft=ask,
                    submitter=UserRef("slack", "U0S"),
                    at=at,
                    notifications=lambda i: [],
                    submission_key=key,
                )
            )
    async with engine.connect() as conn:
        words = await conn.scalar(sa.text("SELECT count(*) FROM feedback_token"))
    await migrate.downgrade(engine, "0025")
    async with engine.connect() as conn:
        keys = await conn.execute(sa.text("SELECT id, submission_key FROM feedback_item"))
        # Every item kept; the key stays with the lowest scope's item ("slack::T0AAA").
        assert sorted(tuple(r) for r in keys) == [
            (made[0].id, None),
            (made[1].id, "view-1"),
            (made[2].id, "view-2"),
        ]
        assert await conn.scalar(sa.text("SELECT count(*) FROM feedback_token")) == words
    await migrate.upgrade(engine)
    # Back up, every row is the shared pool's: found there, by id and through its words.
    assert [i.id for i in await repo.queue_page(limit=10)] == [i.id for i in made]
    found = await repo.similar_candidates(tokens=["saml"], product_sku=None, exclude=None)
    assert sorted(c.id for c in found) == [i.id for i in made]
    async with engine.connect() as conn:
        scopes = await conn.execute(sa.text("SELECT DISTINCT scope FROM feedback_token"))
        assert [r[0] for r in scopes] == [""]
