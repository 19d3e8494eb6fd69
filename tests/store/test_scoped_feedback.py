"""Feedback kept apart per workspace, on both databases: two isolated workspaces (the same
person ids in both) each see only their own items in the queue, App Home, the duplicate
check, merge targets, clusters, `/feedback top`, the coverage counts and the stale
reminders; a press naming another workspace's item finds nothing and changes nothing (as
for an unknown id); a single-workspace deployment's pool (SHARED) sees neither."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import payloads, workspace
from bot.catalog import CatalogService
from bot.demand import DemandQuery, DemandService, Rates
from bot.feedback import (
    Action,
    Decided,
    FeedbackService,
    Settings,
    SimilarFound,
    Submitted,
    Supported,
)
from bot.items import Draft, Item, Kind, Status, Transition, Urgency
from bot.reports import CoverageService
from bot.types import Refused, UserRef
from bot.workspace import Workspace
from store.adopting import adopt
from store.coverage_repo import SqlCoverage
from store.demand_repo import SqlDemand
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from tests.conftest import demo_text

A = Workspace("slack", "E0ORG", "T0A", isolated=True)
B = Workspace("slack", "E0ORG", "T0B", isolated=True)
PM = UserRef("slack", "U0PM1")  # a product manager in both (the same id in each)
REPS = [UserRef("slack", f"U0SALES{n}") for n in (1, 2, 3)]
SAML = "Needs SAML single sign-on before the renewal"
TRIAGES = {"slack": "C0TRIAGE"}  # the same channel id in both: digests must not collide


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
        settings=Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRIAGE"),
        demand=SqlDemand(engine),
        rates=Rates({"EUR": 1.1}),
    )


def values(n: int, **over: str) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": f"Client {n}",
        "region": "AU",
        "deal_value": str(100_000 * n),
        "currency": "USD",
        "details": SAML + (", asked again" * (n - 1)),
        "duplicate_of": "new",
    }
    base.update(over)
    return base


async def asks(svc: FeedbackService, ws: Workspace, count: int) -> list[Item]:
    """`count` reps of `ws` asking for the same thing (one cluster), in that workspace."""
    made = []
    with workspace.using(ws):
        for n in range(1, count + 1):
            got = await svc.submit(user=REPS[n - 1], values=values(n))
            assert isinstance(got, Submitted), got
            made.append(got.item)
    return made


def ids(items: object) -> list[int]:
    return sorted(i.id for i in items)  # type: ignore[attr-defined]


async def draft(svc: FeedbackService) -> Draft:
    got = await svc.validate(values(1))
    assert isinstance(got, Draft), got
    return got


async def test_each_workspace_sees_only_its_own_feedback(
    svc: FeedbackService, catalog_service: CatalogService, engine: AsyncEngine
) -> None:
    theirs = {A: await asks(svc, A, 3), B: await asks(svc, B, 2)}
    with workspace.using(A):  # B's second rep adds a client to A's first item, in A
        plus = await svc.support(user=REPS[1], item_id=theirs[A][0].id, draft=await draft(svc))
        assert isinstance(plus, Supported)
    repo, reader = SqlFeedbackRepository(engine), SqlDemand(engine)
    top = DemandService(reader=reader, items=repo, catalog=catalog_service, clock=Clock())
    coverage = CoverageService(
        figures=SqlCoverage(engine),
        catalog=catalog_service,
        clock=Clock(),
        revenue=lambda: reader.revenue_by_region(DemandQuery()),
    )
    for ws, mine in theirs.items():
        own = ids(mine)
        with workspace.using(ws):
            # A rep (the same id in both) sending the same ask is offered their own
            # workspace's items as duplicates, and only those.
            offered = await svc.submit(user=REPS[0], values={**values(1), "duplicate_of": None})
            assert isinstance(offered, SimilarFound) and ids(offered.similar) == own
            assert ids(await repo.queue_page(limit=50)) == own
            assert ids(await repo.open_items(product_sku=None)) == own
            assert (await repo.queue_counts())[Status.NEW] == len(own)
            home = await svc.home(PM)
            assert home.queue is not None and ids(home.queue) == own
            rep_home = await svc.home(REPS[0])
            assert ids(rep_home.mine) == [mine[0].id] and rep_home.mine_total == 1
            second = await svc.home(REPS[1])  # what they sent, and in A what they +1'd
            assert ids(second.mine) == sorted({mine[1].id, *([mine[0].id] if ws is A else [])})
            assert second.mine_total == len(second.mine)
            assert ids(await svc.similar_open(await draft(svc))) == own
            found = await repo.similar_candidates(
                tokens=SAML.split(), product_sku=None, exclude=None
            )
            assert ids(found) == own
            assert ids(await svc.merge_targets(mine[0])) == own[1:]
            cluster = await svc.cluster_of(mine[0])
            assert cluster is not None and ids(cluster.others) == own[1:]
            assert ids(await repo.similar_of(item_id=mine[-1].id, limit=10)) == own[:-1]
            report = await top.top("")
            assert ids(r.item for r in report.rows) == own and report.total == len(own)
            au = next(r for r in (await coverage.report("last 30 days")).regions if r.code == "AU")
            assert (au.submitted, au.open_by_age) == (len(own), (len(own), 0, 0))
            assert dict(au.at_stake) == {"USD": sum(100_000 * n for n in range(1, len(own) + 1))}
            other = theirs[B if ws is A else A]
            assert await repo.get_item(item_id=other[0].id) is None
            assert await repo.items_by_ids(ids=[i.id for i in other]) == []
            assert await repo.events(item_id=other[0].id) == []
            assert len(await repo.events(item_id=mine[0].id)) == 1
    # The shared pool (a single-workspace deployment, the console) sees neither.
    assert await repo.queue_page(limit=50) == []
    assert await repo.open_items(product_sku=None) == []
    assert await svc.similar_open(await draft(svc)) == []
    assert await svc.cluster_of(theirs[A][0]) is None
    assert (await top.top("")).rows == ()
    au = next(r for r in (await coverage.report("last 30 days")).regions if r.code == "AU")
    assert (au.submitted, au.at_stake) == (0, ())
    assert (await svc.home(PM)).queue == ()


async def test_a_press_naming_another_workspaces_item_changes_nothing(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    a1, a2, a3 = await asks(svc, A, 3)
    (b1,) = await asks(svc, B, 1)
    outbox = SqlOutbox(engine)
    before = len(await outbox.messages())
    unknown = 999
    with workspace.using(B):
        for action in (Action.NOW, Action.LATER, Action.ACTIONED):
            forged = await svc.decide(user=PM, item_id=a1.id, action=action, shipped="SAML")
            none = await svc.decide(user=PM, item_id=unknown, action=action)
            assert isinstance(forged, Refused) and forged.why is none.why  # type: ignore[union-attr]
            assert forged.message == none.message.replace(str(unknown), str(a1.id))  # type: ignore[union-attr]
        noted = await svc.decide(user=PM, item_id=a1.id, action=Action.DECLINE, note="No.")
        assert isinstance(noted, Refused)
        # B's item into A's (A's is no target here), and A's into B's (A's is no item here).
        into_a = await svc.decide(user=PM, item_id=b1.id, action=Action.MERGE, merge_into=a1.id)
        into_none = await svc.decide(
            user=PM, item_id=b1.id, action=Action.MERGE, merge_into=unknown
        )
        assert isinstance(into_a, Refused) and into_a.message == into_none.message  # type: ignore[union-attr]
        from_a = await svc.decide(user=PM, item_id=a2.id, action=Action.MERGE, merge_into=b1.id)
        assert isinstance(from_a, Refused)
        # Merge all: into A's item, or A's items into B's, merges nothing.
        assert isinstance(
            await svc.merge_all(user=PM, target_id=a1.id, item_ids=(a2.id, a3.id)), Refused
        )
        done = await svc.merge_all(user=PM, target_id=b1.id, item_ids=(a2.id, a3.id))
        assert not isinstance(done, Refused) and done.merged == ()
        # +1 with my client onto A's item: as for an item that is no longer open.
        plus_one = await svc.support(user=REPS[1], item_id=a1.id, draft=await draft(svc))
        none_open = await svc.support(user=REPS[1], item_id=unknown, draft=await draft(svc))
        assert isinstance(plus_one, Refused)
        assert plus_one.message == none_open.message.replace(str(unknown), str(a1.id))  # type: ignore[union-attr]
        # The store refuses them itself, whatever the caller checked first.
        repo = SqlFeedbackRepository(engine)
        move = Transition(a1.id, PM, Status.NEW, Status.NOW, Clock().now(), None, None)
        assert (
            await repo.transition(transition=move, allowed_from=[Status.NEW], notifications=[])
            is None
        )
        merge = Transition(b1.id, PM, Status.NEW, Status.MERGED, Clock().now(), None, a1.id)
        with pytest.raises(Exception, match=str(a1.id)):
            await repo.transition(transition=merge, allowed_from=[Status.NEW], notifications=[])
        assert (
            await repo.add_supporter(
                item_id=a1.id, user=REPS[1], client="Globex", at=Clock().now(), notifications=[]
            )
            is None
        )
        await repo.set_triage_message(item_id=a1.id, channel="C0EVIL", ts="1.1")
        assert (await repo.get_item(item_id=b1.id)).status is Status.NEW  # type: ignore[union-attr]
    assert len(await outbox.messages()) == before  # nobody was told anything
    with workspace.using(A):
        for item in (a1, a2, a3):
            now = await svc.get(item.id)
            assert now is not None and now.status is Status.NEW and now.supporters == ()
            assert now.triage_channel is None and now.decided_by is None
        # A's own PM still decides A's items.
        assert isinstance(await svc.decide(user=PM, item_id=a1.id, action=Action.NOW), Decided)
        assert isinstance(
            await svc.support(user=REPS[1], item_id=a2.id, draft=await draft(svc)), Supported
        )


async def test_stale_reminders_are_swept_per_workspace(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    theirs = {A: await asks(svc, A, 3), B: await asks(svc, B, 2)}
    clock = svc._clock
    assert isinstance(clock, Clock)
    clock.at += dt.timedelta(days=4)
    assert await svc.remind_stale(triages=TRIAGES) == 0  # the shared pool has none
    for ws, mine in theirs.items():
        with workspace.using(ws):
            assert await svc.remind_stale(triages=TRIAGES) == len(mine)
            assert await svc.remind_stale(triages=TRIAGES) == 0  # reminded just now
    rows = [r for r in await SqlOutbox(engine).messages() if r["dedupe_key"].startswith("stale:")]
    assert [(r["team_id"], r["target"]) for r in rows] == [("T0A", "C0TRIAGE"), ("T0B", "C0TRIAGE")]
    for row, mine in zip(rows, theirs.values(), strict=True):
        digest = payloads.decode(row["payload"])
        assert isinstance(digest, payloads.Digest)
        assert [line.split(" ")[0] for line in digest.lines] == [f"#{i.id}" for i in mine]


async def test_a_submission_key_is_unique_within_its_workspace(engine: AsyncEngine) -> None:
    repo = SqlFeedbackRepository(engine)
    at = Clock().now()
    made = {}
    item = Draft(
        "WDG-PRO",
        "Widget Pro",
        Kind.FEATURE_REQUEST,
        "Acme",
        "AU",
        None,
        None,
        Urgency.NORMAL,
        SAML,
        None,
    )
    for ws in (A, B):
        with workspace.using(ws):
            made[ws] = await repo.create_item(
                draft=item,
                submitter=REPS[0],
                at=at,
                notifications=lambda i: [],
                submission_key="view-1",
            )
            again = await repo.create_item(
                draft=item,
                submitter=REPS[0],
                at=at,
                notifications=lambda i: [],
                submission_key="view-1",
            )
            assert again.id == made[ws].id  # a replay in the same workspace finds its item
    assert made[A].id != made[B].id  # the same key in B is B's own submission
    with workspace.using(A):
        found = await repo.item_by_submission(key="view-1")
        assert found is not None and found.id == made[A].id
    assert await repo.item_by_submission(key="view-1") is None
    async with engine.connect() as conn:
        scopes = await conn.execute(sa.text("SELECT DISTINCT scope FROM feedback_token"))
        assert sorted(r[0] for r in scopes) == [A.scope, B.scope]


async def test_adopting_a_workspace_moves_its_feedback_too(
    svc: FeedbackService, engine: AsyncEngine
) -> None:
    shared = await asks(svc, Workspace("slack", None, "T0ONE"), 2)  # not isolated: SHARED
    (b1,) = await asks(svc, B, 1)
    async with engine.connect() as conn:
        words = await conn.scalar(sa.text("SELECT count(*) FROM feedback_token WHERE scope = ''"))
    moved = await adopt(engine, A.scope)
    assert (moved["feedback_item"], moved["feedback_token"]) == (2, words) and words
    repo = SqlFeedbackRepository(engine)
    assert await repo.queue_page(limit=10) == []
    with workspace.using(A):
        assert ids(await repo.queue_page(limit=10)) == ids(shared)
        # Its word index went with it: the duplicate check finds them there.
        assert ids(await svc.similar_open(await draft(svc))) == ids(shared)
    with workspace.using(B):
        assert ids(await repo.queue_page(limit=10)) == [b1.id]


async def test_the_word_index_is_looked_up_in_the_workspace_only(
    svc: FeedbackService, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Candidates are the few items sharing the most words with the text: A's items (closer
    to the text than B's own) take none of B's places, nor count towards how common a word
    is in B."""
    from store import feedback_repo

    monkeypatch.setattr(feedback_repo, "BY_WORDS", 2)
    monkeypatch.setattr(feedback_repo, "NEWEST", 0)  # only what the word index finds
    await asks(svc, A, 3)
    with workspace.using(B):
        got = await svc.submit(user=REPS[0], values=values(1, details=SAML + " for the bank"))
        assert isinstance(got, Submitted)
        found = await svc.similar_open(await draft(svc))
        assert ids(found) == [got.item.id]


async def test_the_newest_items_compared_are_the_workspaces_newest(
    svc: FeedbackService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store import feedback_repo

    monkeypatch.setattr(feedback_repo, "BY_WORDS", 0)  # only the newest open items
    monkeypatch.setattr(feedback_repo, "NEWEST", 1)
    (b1,) = await asks(svc, B, 1)
    await asks(svc, A, 2)  # newer than B's, in another workspace
    with workspace.using(B):
        assert ids(await svc.similar_open(await draft(svc))) == [b1.id]
