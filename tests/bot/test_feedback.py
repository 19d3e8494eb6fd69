"""The feedback use cases on a real database: validation, duplicates, the state machine,
exactly-once decisions, the audit trail and the outbox rows they write."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bench.feedback_set import seed
from bot import payloads
from bot.catalog import CatalogService
from bot.feedback import (
    NOT_A_PM,
    STALE_LISTED,
    Action,
    AlreadyDecided,
    Decided,
    FeedbackService,
    Invalid,
    Refused,
    Settings,
    SimilarFound,
    Submitted,
    Supported,
)
from bot.items import Status
from bot.outbox import OutboxMessage, Sent, Worker
from bot.payloads import Digest
from bot.ports import Lane, Notification
from bot.types import UserRef, Why
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from tests.conftest import demo_text

PM = UserRef("slack", "U0PM1")
PM2 = UserRef("slack", "U0PM2")
OWNER = UserRef("slack", "U01PMALICE")  # owns Widget Pro in the demo catalog
SALES = UserRef("slack", "U0SALES1")
SALES2 = UserRef("slack", "U0SALES2")


class FixedClock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
async def svc(catalog_service: CatalogService, engine) -> FeedbackService:  # type: ignore[no-untyped-def]
    await catalog_service.import_catalog(demo_text())
    return FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=FixedClock(),
        settings=Settings(product_managers=frozenset({PM.id, PM2.id}), triage_channel="C0TRI"),
    )


def values(**over: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "Acme Corp",
        "region": "australia",
        "deal_value": "250,000",
        "currency": "AUD",
        "urgency": "high",
        "details": "Needs SAML single sign-on before they sign the renewal.",
        "link": None,
    }
    base.update(over)
    return base


async def submit(svc: FeedbackService, user: UserRef = SALES, **over: str | None) -> int:
    result = await svc.submit(user=user, values=values(**over))
    assert isinstance(result, Submitted), result
    return result.item.id


async def test_invalid_input_is_answered_per_field(svc: FeedbackService) -> None:
    result = await svc.submit(
        user=SALES,
        values=values(
            product="NOPE",
            kind="gossip",
            client="  ",
            region="atlantis",
            deal_value="lots",
            details="short",
            link="javascript:alert(1)",
        ),
    )
    assert isinstance(result, Invalid)
    assert set(result.errors) == {
        "product",
        "kind",
        "client",
        "region",
        "deal_value",
        "details",
        "link",
    }


async def test_a_valid_item_is_stored_with_its_triage_post(
    svc: FeedbackService,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    item_id = await submit(svc)
    item = await svc.get(item_id)
    assert item is not None
    assert (item.product_name, item.region_code, item.deal_value, item.deal_currency) == (
        "Widget Pro",
        "AU",
        250_000,
        "AUD",
    )
    assert item.title == "Widget Pro: Needs SAML single sign-on before they sign the renewal."
    rows = await SqlOutbox(engine).messages()
    assert [(r["kind"], r["target"], r["dedupe_key"]) for r in rows] == [
        ("triage", "C0TRI", f"fb:{item_id}:triage:new")
    ]


async def test_similar_open_items_are_offered_then_supported(svc: FeedbackService) -> None:
    first = await submit(svc)
    again = await svc.submit(
        user=SALES2,
        values=values(
            client="Globex", details="Needs SAML single sign-on before signing the renewal."
        ),
    )
    assert isinstance(again, SimilarFound)
    assert [i.id for i in again.similar] == [first]
    plus_one = await svc.submit(
        user=SALES2,
        values=values(
            client="Globex",
            duplicate_of=str(first),
            details="Needs SAML single sign-on before signing the renewal.",
        ),
    )
    assert isinstance(plus_one, Supported)
    assert [s.client for s in plus_one.item.supporters] == ["Globex"]
    as_new = await svc.submit(
        user=SALES2,
        values=values(
            client="Globex", duplicate_of="new", details="Needs SAML sign-on, separately."
        ),
    )
    assert isinstance(as_new, Submitted) and as_new.item.id != first


async def test_a_card_lists_the_similar_items_kept_without_checking_again(
    svc: FeedbackService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await submit(svc)
    second = await submit(
        svc,
        user=SALES2,
        client="Globex",
        duplicate_of="new",
        details="Needs SAML single sign-on before signing the renewal.",
    )
    other = await submit(
        svc, product="LDG-SYNC", client="Initech", details="Wants the Xero connector as well."
    )

    async def no_check(**_: object) -> list[object]:
        return []  # only the cluster line (bounded, bot.clusters) asks: it finds nothing here

    monkeypatch.setattr(svc._repo, "similar_candidates", no_check)

    async def shown(item_id: int) -> list[int]:
        item = await svc.get(item_id)
        assert item is not None
        return [i.id for i in (await svc.triage_view(item)).similar]

    assert await shown(second) == [first]  # found when it was submitted
    assert await shown(first) == [second]  # the later item added itself to the first's list
    assert await shown(other) == []
    assert isinstance(
        await svc.decide(user=PM, item_id=first, action=Action.DECLINE, note="no"), Decided
    )
    assert await shown(second) == []  # a closed item is no longer offered


TRANSITIONS = [
    # (path of actions, whether the last one is allowed)
    ([Action.NOW], True),
    ([Action.LATER], True),
    ([Action.DECLINE], True),
    ([Action.NOW, Action.ACTIONED], True),
    ([Action.LATER, Action.ACTIONED], True),
    ([Action.NOW, Action.DECLINE], True),
    ([Action.LATER, Action.DECLINE], True),
    ([Action.ACTIONED], False),
    ([Action.NOW, Action.LATER], False),
    ([Action.DECLINE, Action.NOW], False),
    ([Action.NOW, Action.ACTIONED, Action.DECLINE], False),
]


@pytest.mark.parametrize(("path", "allowed"), TRANSITIONS)
async def test_state_machine(svc: FeedbackService, path: list[Action], allowed: bool) -> None:
    item_id = await submit(svc)
    for action in path[:-1]:
        assert isinstance(
            await svc.decide(user=PM, item_id=item_id, action=action, note="because"), Decided
        )
    last = await svc.decide(user=PM, item_id=item_id, action=path[-1], note="because")
    assert isinstance(last, Decided) is allowed


async def test_only_pms_and_the_owner_decide(svc: FeedbackService) -> None:
    item_id = await submit(svc)
    refused = await svc.decide(user=SALES, item_id=item_id, action=Action.NOW)
    assert isinstance(refused, Refused) and refused.message == NOT_A_PM
    assert (await svc.get(item_id)).status is Status.NEW  # type: ignore[union-attr]
    assert isinstance(await svc.decide(user=OWNER, item_id=item_id, action=Action.LATER), Decided)


async def test_plus_one_pressed_at_once_makes_one_supporter(svc: FeedbackService, engine) -> None:  # type: ignore[no-untyped-def]
    first = await submit(svc)
    plus_one = values(
        client="Globex",
        duplicate_of=str(first),
        details="Needs SAML single sign-on before signing the renewal.",
    )
    results = await asyncio.gather(*(svc.submit(user=SALES2, values=plus_one) for _ in range(4)))
    results.append(await svc.submit(user=SALES2, values=plus_one))  # and replayed later
    assert all(isinstance(r, Supported) for r in results)
    item = await svc.get(first)
    assert item is not None and [s.client for s in item.supporters] == ["Globex"]
    refreshes = [r for r in await SqlOutbox(engine).messages() if "support" in r["dedupe_key"]]
    assert len(refreshes) == 1


async def test_two_pms_at_once_make_one_decision(svc: FeedbackService, engine) -> None:  # type: ignore[no-untyped-def]
    item_id = await submit(svc)
    results = await asyncio.gather(
        svc.decide(user=PM, item_id=item_id, action=Action.NOW),
        svc.decide(user=PM2, item_id=item_id, action=Action.LATER),
        svc.decide(user=PM, item_id=item_id, action=Action.NOW),
    )
    decided = [r for r in results if isinstance(r, Decided)]
    told = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(decided) == 1 and len(told) == 2
    winner = decided[0].transition.actor.id
    assert all(f"<@{winner}>" in r.message_for(lambda u: f"<@{u.id}>") for r in told)
    assert all(f"by {winner}" in r.message for r in told)  # Teams: no Slack markup
    events = await SqlFeedbackRepository(engine).events(item_id=item_id)
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "new"),
        ("new", decided[0].transition.to_status.value),
    ]
    dms = [r for r in await SqlOutbox(engine).messages() if r["kind"] == "dm"]
    assert [r["target"] for r in dms] == [SALES.id]


async def _clients_on_open_items(svc: FeedbackService, ids: list[int]) -> set[str]:
    items = [await svc.get(i) for i in ids]
    return {st.client for it in items if it is not None and it.is_open for st in it.stakes}


async def test_merges_into_each_other_at_once_keep_every_client_on_an_open_item(
    svc: FeedbackService,
) -> None:
    """A into B and B into A at once: one merge wins, the other is refused with a reason,
    and every client is still on an open item (neither closed into the other)."""
    a = await submit(svc)
    b = await submit(
        svc, user=SALES2, client="Globex", details="Wants SSO through Okta.", duplicate_of="new"
    )
    results = await asyncio.gather(
        svc.decide(user=PM, item_id=a, action=Action.MERGE, merge_into=b),
        svc.decide(user=PM2, item_id=b, action=Action.MERGE, merge_into=a),
    )
    decided = [r for r in results if isinstance(r, Decided)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(decided) == 1 and len(refused) == 1, results
    won = decided[0].transition
    assert refused[0].why is Why.BAD_TARGET
    assert f"#{won.item_id} was just merged into #{won.merged_into}" in refused[0].message
    assert await _clients_on_open_items(svc, [a, b]) == {"Acme Corp", "Globex"}


class HeldMerge(SqlFeedbackRepository):
    """Holds one item's transition after the service has read and checked everything,
    until the test lets it go: a race with a known loser, without timing."""

    def __init__(self, engine, item_id: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine)
        self.item_id = item_id
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def transition(self, *, transition, **kw):  # type: ignore[no-untyped-def,override]
        if transition.item_id == self.item_id:
            self.reached.set()
            await self.go.wait()
        return await super().transition(transition=transition, **kw)


async def test_a_merge_whose_target_was_merged_meanwhile_is_refused(
    svc: FeedbackService,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    """A into B, checked while B was open, written after B went into C: refused with the
    reason, A still open with its client (not left on a closed B)."""
    a = await submit(svc)
    b = await submit(
        svc, user=SALES2, client="Globex", details="Wants SSO through Okta.", duplicate_of="new"
    )
    c = await submit(
        svc, client="Initech", details="SAML for the staff portal.", duplicate_of="new"
    )
    held = HeldMerge(engine, a)
    slow = FeedbackService(repo=held, catalog=svc._catalog, clock=svc._clock, settings=svc.settings)
    a_into_b = asyncio.create_task(
        slow.decide(user=PM, item_id=a, action=Action.MERGE, merge_into=b)
    )
    await held.reached.wait()
    assert isinstance(
        await svc.decide(user=PM2, item_id=b, action=Action.MERGE, merge_into=c), Decided
    )
    held.go.set()
    refused = await a_into_b
    assert isinstance(refused, Refused) and refused.why is Why.BAD_TARGET
    assert f"#{b} was just merged into #{c}" in refused.message
    assert await _clients_on_open_items(svc, [a, b, c]) == {"Acme Corp", "Globex", "Initech"}
    events = await SqlFeedbackRepository(engine).events(item_id=a)
    assert [e["to_status"] for e in events] == ["new"]  # nothing of the refused merge kept


async def test_a_client_added_while_its_item_is_merged_reaches_the_target(
    svc: FeedbackService,
) -> None:
    """+1s racing a merge: each either lands before the merge (and is brought along) or is
    refused as no longer open; none is left on the merged item alone."""
    a = await submit(svc)
    b = await submit(
        svc, user=SALES2, client="Globex", details="Wants SSO through Okta.", duplicate_of="new"
    )
    clients = [f"Client {n}" for n in range(4)]
    plus_ones = [
        svc.submit(
            user=UserRef("slack", f"U0REP{n}"),
            values=values(client=client, duplicate_of=str(a), deal_value="1000"),
        )
        for n, client in enumerate(clients)
    ]
    merge = svc.decide(user=PM, item_id=a, action=Action.MERGE, merge_into=b)
    results = await asyncio.gather(plus_ones[0], merge, *plus_ones[1:])
    assert isinstance(results[1], Decided)
    supported = [
        c
        for c, r in zip(clients, [results[0], *results[2:]], strict=True)
        if isinstance(r, Supported)
    ]
    refused = [r for r in [results[0], *results[2:]] if isinstance(r, Refused)]
    assert len(supported) + len(refused) == len(clients)
    assert all(r.why is Why.CLOSED for r in refused)
    target = await svc.get(b)
    assert target is not None
    assert set(supported) <= {st.client for st in target.stakes}


async def test_merge_notifies_everyone_and_later_decisions_reach_them(
    svc: FeedbackService,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    target = await submit(svc)
    other = await submit(
        svc,
        user=SALES2,
        product="LDG-SYNC",
        client="Initech",
        details="Wants the ledger connector for Xero as well.",
    )
    merged = await svc.decide(
        user=PM, item_id=other, action=Action.MERGE, merge_into=target, note="Same ask as #1"
    )
    assert isinstance(merged, Decided)
    assert (await svc.get(other)).merged_into == target  # type: ignore[union-attr]
    now = await svc.decide(user=PM, item_id=target, action=Action.NOW, note="Building it")
    assert isinstance(now, Decided)
    dms = [
        (r["target"], r["payload"]["status"])
        for r in await SqlOutbox(engine).messages()
        if r["kind"] == "dm"
    ]
    assert dms == [(SALES2.id, "merged"), (SALES.id, "now"), (SALES2.id, "now")]


TRIAGES = {"slack": "C0TRI", "teams": "triage"}


async def test_stale_new_items_are_raised_once_per_period(
    svc: FeedbackService,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    item_id = await submit(svc)
    clock = svc._clock
    assert isinstance(clock, FixedClock)
    assert await svc.remind_stale(triages=TRIAGES) == 0
    clock.at += dt.timedelta(days=4)
    assert await svc.remind_stale(triages=TRIAGES) == 1
    assert await svc.remind_stale(triages=TRIAGES) == 0  # reminded just now
    rows = await SqlOutbox(engine).messages()
    assert [(r["dedupe_key"], r["target"], r["lane"]) for r in rows] == [
        (f"fb:{item_id}:triage:new", "C0TRI", Lane.INTERACTIVE),
        ("stale:2026-12-01:slack:C0TRI", "C0TRI", Lane.BULK),
    ]
    digest = payloads.decode(rows[1]["payload"])
    assert isinstance(digest, payloads.Digest) and len(digest.lines) == 1
    assert digest.lines[0].startswith(f"#{item_id} Widget Pro: Needs SAML")


async def test_a_large_sweep_is_one_digest_per_channel_and_decision_dms_go_first(
    svc: FeedbackService,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    """2,000 items waiting (on two platforms) and a bulk backlog already queued: the sweep
    writes one capped digest per triage channel, saying how many it leaves out, and a
    decision made after it is delivered before any of that bulk work."""
    await seed(engine, 4000)  # about 2,000 open, all long waiting, submitted on Slack
    teams_item = await submit(svc, user=UserRef("teams", "aad-sales"))
    decided = await submit(svc, client="Initech", duplicate_of="new", details="Other ask.")
    outbox = SqlOutbox(engine)
    await outbox.enqueue(
        notifications=[
            Notification("slack", "post", "C0ANN", f"announce:{n}", Digest("News", ("x",)).encode())
            for n in range(300)
        ]
    )
    clock = svc._clock
    assert isinstance(clock, FixedClock)
    clock.at += dt.timedelta(days=4)
    covered = await svc.remind_stale(triages=TRIAGES)
    assert covered > 2000
    sweep = [r for r in await outbox.messages() if r["dedupe_key"].startswith("stale:")]
    assert [(r["platform"], r["target"], r["lane"]) for r in sweep] == [
        ("slack", "C0TRI", Lane.BULK),
        ("teams", "triage", Lane.BULK),
    ]
    slack = payloads.decode(sweep[0]["payload"])
    assert isinstance(slack, payloads.Digest)
    assert len(slack.lines) == STALE_LISTED + 1  # the oldest, and what is left out
    assert slack.title.startswith(f"{covered - 1} feedback items waiting")
    assert f"… and {covered - 1 - STALE_LISTED} more" in slack.lines[-1]
    teams = payloads.decode(sweep[1]["payload"])
    assert isinstance(teams, payloads.Digest) and teams.lines[0].startswith(f"#{teams_item} ")
    assert isinstance(
        await svc.decide(user=PM, item_id=decided, action=Action.NOW, note="on it"), Decided
    )
    order: list[str] = []

    async def deliver(message: OutboxMessage) -> Sent:
        order.append(message.dedupe_key)
        return Sent()

    worker = Worker(store=outbox, deliver=deliver, batch=10, concurrency=1)
    while await worker.run_once():
        pass
    assert len(order) == 2 + 300 + 4  # sweep, backlog, three cards and the DM
    dm = next(n for n, key in enumerate(order) if ":dm:" in key)
    bulk = [n for n, key in enumerate(order) if key.startswith(("stale:", "announce:"))]
    assert dm < min(bulk)  # written after the sweep and the backlog, sent before them


async def test_a_market_the_catalog_lacks_is_no_region_to_file_under(
    svc: FeedbackService,
) -> None:
    # The matcher knows China is a market (to answer "widget pro china"), but the catalog
    # has no region for it: feedback cannot be filed under it.
    result = await svc.submit(user=SALES, values=values(region="China"))
    assert isinstance(result, Invalid)
    assert result.errors == {"region": "I don't know the region “China”."}


async def test_feedback_may_name_a_customer_segment_of_the_catalog(
    svc: FeedbackService, catalog_service: CatalogService
) -> None:
    """The form offers the catalog's segments (optional); a picked one is stored with the
    item and named on its triage card; anything else is refused at the field."""
    form = await svc.form()
    segment = next(f for f in form.fields if f.id == "segment")
    assert not segment.required
    assert [c.value for c in segment.choices] == ["PUB", "FSI", "HLS"]
    ids = [f.id for f in form.fields]
    assert ids.index("segment") == ids.index("region") + 1

    item_id = await submit(svc, segment="PUB", region="DE")
    item = await svc.get(item_id)
    assert item is not None and (item.region_code, item.segment_code) == ("DE", "PUB")
    card = await svc.triage_view(item)
    assert (card.region_name, card.segment_name) == ("Germany", "Public sector")

    typed = await svc.submit(user=SALES, values=values(segment="banks", details="Banks ask x."))
    assert isinstance(typed, Submitted) and typed.item.segment_code == "FSI"
    plain = await svc.get(await submit(svc, details="No segment named here at all."))
    assert plain is not None and plain.segment_code is None

    for wrong in ("EDU", "government ministry banks", "<script>"):
        result = await svc.submit(user=SALES, values=values(segment=wrong))
        assert isinstance(result, Invalid) and set(result.errors) == {"segment"}, wrong

    # A catalog without segments asks no such question.
    await catalog_service.import_catalog(
        demo_text().split("\nsegments:")[0]
        + "\nproducts:"
        + "".join(
            line + "\n"
            for line in demo_text().split("\nproducts:", 1)[1].splitlines()
            if "segment:" not in line
        )
    )
    assert (await catalog_service.view()).catalog.segments == {}
    assert "segment" not in [f.id for f in (await svc.form()).fields]
    result = await svc.submit(user=SALES, values=values(segment="PUB"))
    assert isinstance(result, Invalid) and set(result.errors) == {"segment"}
