"""Workspaces apart, table by table, on both databases: with two isolated workspaces each
writing receipts, notice opt-outs, approval requests, product subscriptions and names for
the same person ids, each workspace reads only its own, and a single-workspace deployment's
pool (SHARED) sees neither; change notices go out per workspace, each DM stamped with the
workspace whose receipt it answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.approvals import ApprovalDraft
from bot.catalog import CatalogView, product_answer
from bot.catalog_file import diff_catalogs, parse_catalog
from bot.notices import NOTICES, Notices
from bot.outbox import Worker
from bot.ports import Notification
from bot.receipts import Receipt, Receipts
from bot.types import UserRef
from bot.workspace import Workspace
from store.approvals_repo import SqlApprovals
from store.feedback_repo import SqlOutbox
from store.people import SqlPeople
from store.receipts_repo import SqlReceipts
from store.updates_repo import SqlUpdatesRepository
from tests.conftest import demo_text
from tests.handlers.slack.test_notices import CHANGED

A = Workspace("slack", "E0ORG", "T0A", isolated=True)
B = Workspace("slack", "E0ORG", "T0B", isolated=True)
REP = UserRef("slack", "U0REP")  # the same id in both (ids are only unique per workspace)
NOW = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
ASKED = NOW - dt.timedelta(days=3)
SOLD = Receipt("slack", REP.id, ASKED, "WDG-PRO", "Widget Pro", "AE", None, "Available", "", "x", 1)


class Clock:
    def now(self) -> dt.datetime:
        return NOW


def _in(ws: Workspace | None) -> Receipt:
    return dataclasses.replace(SOLD, scope=workspace.SHARED if ws is None else ws.scope)


async def test_receipts_and_opt_outs_are_each_workspaces_own(engine: AsyncEngine) -> None:
    repo = SqlReceipts(engine)
    await repo.add([_in(A), _in(A), _in(B)])
    week = {"since": NOW - dt.timedelta(days=7), "until": NOW}
    with workspace.using(A):
        assert [r.scope for r in await repo.recent(user=REP, limit=10)] == [A.scope] * 2
        assert await repo.demand(**week) == {"AE": (2, 0)}
        await repo.set_notices(user=REP, on=False, at=NOW)
        assert await repo.opted_out(users=[REP]) == {REP}
    with workspace.using(B):
        assert [r.scope for r in await repo.recent(user=REP, limit=10)] == [B.scope]
        assert await repo.demand(**week) == {"AE": (1, 0)}
        assert await repo.opted_out(users=[REP]) == set()  # A's opt-out is A's
        await repo.set_notices(user=REP, on=False, at=NOW)
        await repo.set_notices(user=REP, on=True, at=NOW)  # turns on B's only
    with workspace.using(A):
        assert await repo.opted_out(users=[REP]) == {REP}
    assert await repo.recent(user=REP, limit=10) == []
    assert await repo.demand(**week) == {}
    assert await repo.opted_out(users=[REP]) == set()
    every = [r async for r in repo.export(**week)]
    assert sorted(r.scope for r in every) == sorted([A.scope, A.scope, B.scope])
    assert [r.scope for r in await repo.askers(sku="WDG-PRO", region="AE", segment=None, **week)]


async def test_approval_requests_are_each_workspaces_own(engine: AsyncEngine) -> None:
    repo = SqlApprovals(engine)
    draft = ApprovalDraft(
        "WDG-PRO", "Widget Pro", "JP", "Japan", None, "Restricted", "Acme", 1, "USD", "why",
        None, "slack:U0DESK",
    )  # fmt: skip
    made = {}
    for ws in (A, B):
        with workspace.using(ws):
            made[ws.scope] = await repo.create(
                draft=draft, requester=REP, at=NOW, notifications=lambda r: [], submission_key=None
            )
            decided = await repo.decide(
                request_id=made[ws.scope].id,
                actor=UserRef("slack", "U0DESK"),
                was=made[ws.scope].status,
                to=made[ws.scope].status.APPROVED,
                note=None,
                at=NOW,
                valid_until=NOW + dt.timedelta(days=30),
                notifications=[],
            )
            assert decided is not None and decided.scope == ws.scope
    for ws, other in ((A, B), (B, A)):
        with workspace.using(ws):
            mine = await repo.mine(user=REP, limit=10)
            assert [r.id for r in mine] == [made[ws.scope].id]
            assert await repo.get(request_id=made[other.scope].id) is None
            held = await repo.valid(user=REP, sku="WDG-PRO", region="JP", segment=None, now=NOW)
            assert held is not None and held.id == made[ws.scope].id
            assert await repo.holders(now=NOW) == {(REP.platform, REP.id)}
    assert await repo.mine(user=REP, limit=10) == []
    assert await repo.get(request_id=made[A.scope].id) is None
    assert await repo.valid(user=REP, sku="WDG-PRO", region="JP", segment=None, now=NOW) is None
    assert await repo.holders(now=NOW) == frozenset()
    week = {"since": NOW - dt.timedelta(days=1), "until": NOW + dt.timedelta(days=1)}
    assert [r.id async for r in repo.export(**week, scope=B.scope)] == [made[B.scope].id]
    assert len([r async for r in repo.export(**week)]) == 2


async def test_subscriptions_and_names_are_each_workspaces_own(engine: AsyncEngine) -> None:
    updates, people = SqlUpdatesRepository(engine), SqlPeople(engine)
    with workspace.using(A):
        assert await updates.subscribe(user=REP, sku="WDG-PRO", at=NOW)
        await people.remember(REP, "Ana in A")
    with workspace.using(B):
        assert await updates.subscribe(user=REP, sku="WDG-PRO", at=NOW)  # B's own, not a copy
        assert await updates.subscribe(user=REP, sku="WDG-LITE", at=NOW)
        await people.remember(REP, "Ana in B")
        assert await updates.subscriptions(user=REP) == ["WDG-LITE", "WDG-PRO"]
        assert await updates.subscribers(skus=["WDG-LITE"]) == {"WDG-LITE": [("slack", REP.id)]}
        assert await people.names([REP]) == {REP: "Ana in B"}
        assert await updates.unsubscribe(user=REP, sku="WDG-PRO")
    with workspace.using(A):
        assert await updates.subscriptions(user=REP) == ["WDG-PRO"]  # B's unsubscribe is B's
        assert await updates.subscribers(skus=["WDG-LITE"]) == {}
        assert await people.names([REP]) == {REP: "Ana in A"}
    assert await updates.subscriptions(user=REP) == []
    assert await updates.subscribers(skus=["WDG-PRO", "WDG-LITE"]) == {}
    assert await people.names([REP]) == {}


async def test_change_notices_go_out_per_workspace_with_its_stamp(engine: AsyncEngine) -> None:
    repo, outbox = SqlReceipts(engine), SqlOutbox(engine)
    await repo.add([_in(A), _in(B), _in(None), dataclasses.replace(_in(B), user_id="U0OFF")])
    with workspace.using(B):
        await repo.set_notices(user=UserRef("slack", "U0OFF"), on=False, at=NOW)
    with workspace.using(A):  # A's opt-out of the same id does not silence B's
        await repo.set_notices(user=REP, on=False, at=NOW)
        await repo.set_notices(user=REP, on=True, at=NOW)

    async def enqueue(notes: Sequence[Notification]) -> None:
        await outbox.enqueue(notifications=notes, at=NOW)

    notices = Notices(repo=repo, receipts=Receipts(repo=repo, clock=Clock()), clock=Clock(),
                      enqueue=enqueue)  # fmt: skip
    old, new = parse_catalog(demo_text()), parse_catalog(CHANGED)
    with workspace.using(A):  # a PM of A changes the catalog: every workspace's askers hear it
        job = await notices.plan(old=old, new=new, changes=diff_catalogs(old, new), change_set="c")
    await outbox.enqueue(notifications=job, at=NOW)
    worker = Worker(store=outbox, deliver=notices.fan_out, now=lambda: NOW,
                    platforms=frozenset({NOTICES}))  # fmt: skip
    assert await worker.run_once() == 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT target, enterprise_id, team_id FROM outbox"
                    " WHERE dedupe_key LIKE 'notice:%'"
                )
            )
        ).all()
    assert sorted((tuple(r) for r in rows), key=lambda r: r[2] or "") == [
        (REP.id, None, None),  # the single-workspace pool's: no workspace named
        (REP.id, "E0ORG", "T0A"),
        (REP.id, "E0ORG", "T0B"),
    ]


async def test_a_receipt_keeps_the_workspace_it_was_recorded_in(
    engine: AsyncEngine, demo_view: CatalogView
) -> None:
    repo = SqlReceipts(engine)
    receipts = Receipts(repo=repo, clock=Clock(), flush_delay=3600)
    answer = product_answer(demo_view, demo_view.by_sku["WDG-PRO"], demo_view.catalog.regions["AE"])
    with workspace.using(B):
        receipts.record(REP, answer, 1)
    await receipts.flush()  # written later, outside the request: still B's
    with workspace.using(B):
        assert [r.scope for r in await repo.recent(user=REP, limit=5)] == [B.scope]
    assert await repo.recent(user=REP, limit=5) == []


async def test_who_holds_an_approval_is_known_per_workspace(engine: AsyncEngine) -> None:
    from bot.approvals import ApprovalAction, ApprovalService, Settings
    from bot.catalog import CatalogService
    from bot.commands import Bot
    from bot.replies import ProductAnswer
    from store.repository import SqlRepository
    from tests.bot.test_approvals import DEAL_DESK, PM, SALES, _request
    from tests.bot.test_approvals import Clock as Days

    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    settings = Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRIAGE")
    service = ApprovalService(repo=SqlApprovals(engine), catalog=catalog, clock=Days(),
                              settings=settings)  # fmt: skip
    bot = Bot(catalog=catalog, approvals=service)
    with workspace.using(A):
        made = (await _request(service)).request
        await service.decide(
            user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE, note=None
        )
    with workspace.using(B):  # the same person id in B holds nothing: B's set is read, empty
        theirs = await bot.handle(user=SALES, command="product", text="widget pro japan")
        assert isinstance(theirs, ProductAnswer) and theirs.approval is None
    with workspace.using(A):  # within the TTL, A's own set, not B's
        mine = await bot.handle(user=SALES, command="product", text="widget pro japan")
        assert isinstance(mine, ProductAnswer) and mine.approval is not None


async def test_where_an_approval_card_was_posted_is_its_requests_workspaces(
    engine: AsyncEngine,
) -> None:
    from bot import payloads
    from bot.approvals import ApprovalAction, ApprovalService, CardPlace, Settings
    from bot.catalog import CatalogService
    from store.repository import SqlRepository
    from tests.bot.test_approvals import DEAL_DESK, PM, _request
    from tests.bot.test_approvals import Clock as Days

    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    repo = SqlApprovals(engine)
    service = ApprovalService(repo=repo, catalog=catalog, clock=Days(),
                              settings=Settings(product_managers=frozenset({PM.id})))  # fmt: skip
    with workspace.using(A):
        made = (await _request(service)).request
    [row] = await SqlOutbox(engine).messages()
    ask = payloads.decode(row["payload"])  # type: ignore[arg-type]
    assert isinstance(ask, payloads.ApprovalAsk) and ask.scope == A.scope
    # The worker posts it outside any request: the place is kept in the request's scope.
    place = CardPlace("D0DESK", "1700000000.000100")
    assert await service.posted(ask, platform="slack", place=place) is None
    async with engine.connect() as conn:
        kept = (await conn.execute(sa.text("SELECT scope, channel FROM approval_card"))).all()
    assert [tuple(r) for r in kept] == [(A.scope, "D0DESK")]
    with workspace.using(A):
        assert await repo.cards(request_id=made.id, platform="slack") == [place]
        await service.decide(user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE,
                             note=None)  # fmt: skip
    with workspace.using(B):
        assert await repo.cards(request_id=made.id, platform="slack") == []
    assert await repo.cards(request_id=made.id, platform="slack") == []  # nor the shared pool's
    written = [payloads.decode(m["payload"]) for m in await SqlOutbox(engine).messages()]  # type: ignore[arg-type]
    assert payloads.ApprovalRefresh(made.id, A.scope) in written  # the decision's refresh
    got = await service.refreshed(payloads.ApprovalRefresh(made.id, A.scope), platform="slack")
    assert got is not None and got[1] == [place] and got[0].buttons == ()
    # A refresh naming another workspace finds neither the request nor its cards.
    assert (
        await service.refreshed(payloads.ApprovalRefresh(made.id, B.scope), platform="slack")
        is None
    )


# Every table, by how a workspace is kept from reading another's rows. A table added later
# fails the test below until it is put here: one that holds a chat user or channel id must
# be Scoped, keyed by the workspace, or read only through a row that is.
SCOPED = {
    "approval_card", "approval_request", "briefing", "briefing_deck", "conversation_ref",
    "feedback_item", "feedback_token", "lookup_miss", "notice_opt_out", "outbox_pause",
    "person", "product_subscription", "receipt",
}  # fmt: skip
BY_WORKSPACE = {
    "outbox": ("enterprise_id", "team_id"),
    "workspace_settings": ("enterprise_id", "team_id"),
}
THROUGH = {  # read only through their parent row, which is scoped or keyed by workspace
    "approval_event": "approval_request", "feedback_event": "feedback_item",
    "feedback_similar": "feedback_item", "feedback_supporter": "feedback_item",
    "setting_change": "workspace_settings",
}  # fmt: skip
# The company's catalog, one per deployment whatever the workspace (its owners, contacts and
# verifiers are the catalog's people), and ids unique across workspaces (Slack event ids).
SHARED_BY_DESIGN = {
    "availability_rule", "catalog_change", "catalog_meta", "pricing_band", "product",
    "product_internal", "product_verification", "region", "segment", "seen_event",
}  # fmt: skip


def test_every_table_says_how_workspaces_are_kept_apart() -> None:
    from sqlmodel import SQLModel

    import store.models  # noqa: F401  (every table registered)

    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    classes = [SCOPED, set(BY_WORKSPACE), set(THROUGH), SHARED_BY_DESIGN]
    assert sum(len(c) for c in classes) == len(set().union(*classes))  # each in one class
    assert set(tables) == set().union(*classes)
    for name in SCOPED:
        assert "scope" in tables[name].c, name
    for name, columns in BY_WORKSPACE.items():
        assert all(c in tables[name].c for c in columns), name
    for name, parent in THROUGH.items():
        targets = {fk.column.table.name for fk in tables[name].foreign_keys}
        assert parent in targets, name
        assert parent in SCOPED or parent in BY_WORKSPACE, name


def test_the_scopes_in_use_are_probed_through_indexes_and_parents() -> None:
    """store.adopting.scopes_in_use probes each scoped table through an index led by its
    scope; a table without one is skipped, so its rows must be a probed parent's."""
    from store.adopting import _scope_led, scoped_tables

    tables = {t.name: t for t in scoped_tables()}
    for name, table in tables.items():
        if _scope_led(table):
            continue
        parents = {fk.column.table.name for fk in table.foreign_keys}
        assert any(p in tables and _scope_led(tables[p]) for p in parents), name
