"""Approval requests on a real database: who a request goes to, one decision however many
presses, who may decide, the requester's DM and audit trail, forged and stale requests, and
the approval shown in that requester's next answers until it runs out."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import payloads
from bot.approvals import (
    NOT_APPROVER,
    AlreadyDecided,
    ApprovalAction,
    ApprovalCard,
    ApprovalService,
    ApprovalStatus,
    CardPlace,
    Decided,
    Requested,
    Settings,
    decided_text,
)
from bot.catalog import CatalogService
from bot.commands import Bot
from bot.replies import Notice, OpenForm, ProductAnswer
from bot.types import Refused, UserRef, Why
from store.approvals_repo import SqlApprovals
from store.feedback_repo import SqlOutbox
from store.repository import SqlRepository
from tests.conftest import demo_text

SALES = UserRef("slack", "U0SALES1")
SALES2 = UserRef("slack", "U0SALES2")
DEAL_DESK = UserRef("slack", "U01DEALDESK")  # the contact of Widget Pro's Japan rule
OWNER = UserRef("slack", "U01PMALICE")  # owns Widget Pro
PM = UserRef("slack", "U0PM1")
APPROVE = ApprovalAction.APPROVE
JAPAN = "WDG-PRO|JP"  # Widget Pro in Japan: Restricted — Deal desk approval
VALUES: dict[str, str | None] = {
    "client": "Acme",
    "deal_value": "250,000",
    "currency": "USD",
    "why": "Three-year renewal",
}


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
async def setup(engine: AsyncEngine) -> tuple[ApprovalService, SqlApprovals, Clock, Bot]:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    clock = Clock()
    repo = SqlApprovals(engine)
    service = ApprovalService(
        repo=repo,
        catalog=catalog,
        clock=clock,
        settings=Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRIAGE"),
    )
    return service, repo, clock, Bot(catalog=catalog, approvals=service)


async def _request(service: ApprovalService, user: UserRef = SALES, **kw: str) -> Requested:
    made = await service.request(
        user=user, key=JAPAN, values={**VALUES, **kw}, submission=kw.get("submission")
    )
    assert isinstance(made, Requested), made
    return made


async def _outbox(engine: AsyncEngine) -> list[dict[str, object]]:
    return await SqlOutbox(engine).messages()


async def test_a_request_goes_to_the_rules_contact_once_per_submission(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, repo, _, _ = setup
    first = await _request(service, submission="k1")
    again = await _request(service, submission="k1")  # a replayed submission
    assert again.request.id == first.request.id
    [row] = await _outbox(engine)
    assert (row["platform"], row["kind"], row["target"]) == ("slack", "dm", "U01DEALDESK")
    ask = payloads.decode(row["payload"])  # type: ignore[arg-type]
    assert isinstance(ask, payloads.ApprovalAsk)
    assert (ask.request_id, ask.client, ask.deal) == (first.request.id, "Acme", "$250,000")
    assert ask.verdict == "Restricted — Deal desk approval"
    [event] = await repo.events(request_id=first.request.id)
    assert (event["actor_id"], event["to_status"]) == (SALES.id, "pending")


async def test_without_a_contact_it_goes_to_the_approvals_channel(engine: AsyncEngine) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    service = ApprovalService(
        repo=SqlApprovals(engine),
        catalog=catalog,
        clock=Clock(),
        # A contact on a platform this install does not deliver to cannot be reached either.
        settings=Settings(approvals_channel="C0APPROVE", triage_channel="C0T", platforms=()),
    )
    await _request(service)
    [row] = await _outbox(engine)
    assert (row["kind"], row["target"]) == ("post", "C0APPROVE")
    nowhere = ApprovalService(
        repo=SqlApprovals(engine), catalog=catalog, clock=Clock(), settings=Settings(platforms=())
    )
    refused = await nowhere.request(user=SALES, key=JAPAN, values=VALUES, submission=None)
    assert isinstance(refused, Refused) and "APPROVALS_CHANNEL" in refused.message


async def test_the_form_is_checked_and_only_a_restricted_answer_is_approved(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, _, _, bot = setup
    errors = await service.request(
        user=SALES,
        key=JAPAN,
        values={"client": " ", "deal_value": "lots", "currency": "XXX", "why": ""},
        submission=None,
    )
    assert isinstance(errors, dict)
    assert set(errors) == {"client", "deal_value", "currency", "why"}
    available = await service.request(user=SALES, key="WDG-PRO|AU", values=VALUES, submission=None)
    assert isinstance(available, Refused) and "Available" in available.message
    gone = await service.request(user=SALES, key="NOPE|JP", values=VALUES, submission=None)
    assert isinstance(gone, Refused) and gone.why is Why.GONE
    assert await _outbox(engine) == []  # nothing was sent for any of them
    form = await bot.handle(user=SALES, command="product", text="request japan widget pro")
    assert isinstance(form, OpenForm) and form.spec.state == {"answer": JAPAN}
    not_needed = await bot.handle(user=SALES, command="product", text="request oz widget pro")
    assert isinstance(not_needed, Notice) and "Only a Restricted answer" in not_needed.text


async def test_two_presses_make_one_decision_and_the_requester_is_told_once(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, repo, clock, _ = setup
    made = (await _request(service)).request
    results = await asyncio.gather(
        service.decide(
            user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE, note=None
        ),
        service.decide(user=OWNER, request_id=made.id, action=ApprovalAction.APPROVE, note=None),
        service.decide(
            user=PM, request_id=made.id, action=ApprovalAction.DECLINE, note="Not for Acme"
        ),
    )
    won = [r for r in results if isinstance(r, Decided)]
    lost = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(won) == 1 and len(lost) == 2
    assert all(r.request.decided_by == won[0].request.decided_by for r in lost)
    assert "was already decided" in lost[0].message
    dms = [m for m in await _outbox(engine) if m["target"] == SALES.id]
    assert len(dms) == 1
    events = await repo.events(request_id=made.id)
    assert [e["to_status"] for e in events] == ["pending", won[0].request.status.value]
    # A press after the decision changes nothing either.
    later = await service.decide(
        user=DEAL_DESK, request_id=made.id, action=ApprovalAction.DECLINE, note="no"
    )
    assert isinstance(later, AlreadyDecided)
    assert len(await repo.events(request_id=made.id)) == 2
    assert won[0].request.decided_at == clock.at


async def test_only_the_contact_the_owner_or_a_pm_may_decide(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, repo, _, _ = setup
    made = (await _request(service)).request
    for who in (SALES, SALES2, UserRef("teams", DEAL_DESK.id)):  # an id only counts on its platform
        refused = await service.decide(
            user=who, request_id=made.id, action=ApprovalAction.APPROVE, note=None
        )
        assert refused == Refused(NOT_APPROVER, Why.NOT_ALLOWED)
    unknown = await service.decide(
        user=PM, request_id=made.id + 99, action=ApprovalAction.APPROVE, note=None
    )
    assert isinstance(unknown, Refused) and unknown.why is Why.GONE
    needs = await service.decide(
        user=PM, request_id=made.id, action=ApprovalAction.DECLINE, note="  "
    )
    assert isinstance(needs, Refused) and needs.why is Why.NEEDS_NOTE
    current = await repo.get(request_id=made.id)
    assert current is not None and current.status is ApprovalStatus.PENDING
    assert len(await repo.events(request_id=made.id)) == 1
    assert [m["target"] for m in await _outbox(engine)] == ["U01DEALDESK"]  # the card only
    info = await service.decide(
        user=OWNER, request_id=made.id, action=ApprovalAction.INFO, note="Which modules?"
    )
    assert isinstance(info, Decided) and info.request.status is ApprovalStatus.MORE_INFO


async def test_a_request_for_a_product_gone_from_the_catalog_is_not_decided(
    engine: AsyncEngine,
) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    service = ApprovalService(
        repo=SqlApprovals(engine), catalog=catalog, clock=Clock(), settings=Settings()
    )
    made = (await _request(service)).request
    spec = yaml.safe_load(demo_text())
    spec["products"] = [p for p in spec["products"] if p["sku"] != "WDG-PRO"]
    await catalog.import_catalog(yaml.safe_dump(spec, allow_unicode=True))
    assert (await catalog.view()).by_sku.get("WDG-PRO") is None
    got = await service.decide(
        user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE, note=None
    )
    assert isinstance(got, Refused) and got.why is Why.GONE
    assert "no longer in the catalog" in got.message


async def test_an_approval_shows_in_the_requesters_answers_until_it_runs_out(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot],
) -> None:
    service, _, clock, bot = setup
    made = (await _request(service)).request
    before = await bot.handle(user=SALES, command="product", text="widget pro japan")
    assert isinstance(before, ProductAnswer) and before.approval is None
    await service.decide(
        user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE, note=None
    )
    mine = await bot.handle(user=SALES, command="product", text="widget pro japan")
    assert isinstance(mine, ProductAnswer) and mine.approval is not None
    assert mine.approval.text(lambda u: f"@{u.id}") == (
        "Approved for Acme by @U01DEALDESK until 2 Jan"
    )
    other = await bot.handle(user=SALES2, command="product", text="widget pro japan")
    assert isinstance(other, ProductAnswer) and other.approval is None  # theirs alone
    shared = await bot.answer_again(user=SALES, sku="WDG-PRO", region_code="JP", shared=True)
    assert shared is not None and shared.approval is None  # a shared copy carries none
    text = await service.mine(SALES)
    assert text is not None and "Approved, valid until 2 Jan 2027" in text
    clock.at += dt.timedelta(days=30)
    ended = await bot.handle(user=SALES, command="product", text="widget pro japan")
    assert isinstance(ended, ProductAnswer) and ended.approval is None
    text = await service.mine(SALES)
    assert text is not None and "ended 2 Jan 2027" in text


class CountingApprovals(SqlApprovals):
    """The real store, counting the per-answer look-ups of an approval."""

    looked_up = 0

    async def valid(self, **kw: object) -> object:  # type: ignore[override]
        self.looked_up += 1
        return await super().valid(**kw)  # type: ignore[arg-type]


async def test_a_restricted_answer_costs_no_look_up_for_someone_holding_no_approval(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    settings = Settings(product_managers=frozenset({PM.id}), triage_channel="C0TRIAGE")
    repo = CountingApprovals(engine)
    here = ApprovalService(repo=repo, catalog=catalog, clock=Clock(), settings=settings)
    there = ApprovalService(repo=repo, catalog=catalog, clock=Clock(), settings=settings)
    bot = Bot(catalog=catalog, approvals=here)
    made = (await _request(there)).request
    for _ in range(3):
        asked = await bot.handle(user=SALES, command="product", text="widget pro japan")
        assert isinstance(asked, ProductAnswer) and asked.restricted and asked.approval is None
    assert repo.looked_up == 0
    # Decided by another process: shown here once this one reads who holds one again.
    await there.decide(user=DEAL_DESK, request_id=made.id, action=APPROVE, note=None)
    monkeypatch.setattr("bot.approvals.HOLDERS_TTL", 0.0)
    mine = await bot.handle(user=SALES, command="product", text="widget pro japan")
    assert isinstance(mine, ProductAnswer) and mine.approval is not None
    assert repo.looked_up == 1
    other = await bot.handle(user=SALES2, command="product", text="widget pro japan")
    assert isinstance(other, ProductAnswer) and other.approval is None
    assert repo.looked_up == 1  # SALES2 holds none: no look-up


async def test_need_more_info_keeps_the_request_open_until_the_requester_answers(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, repo, clock, _ = setup
    made = (await _request(service)).request
    info = await service.decide(
        user=DEAL_DESK, request_id=made.id, action=ApprovalAction.INFO, note="Which modules?"
    )
    assert isinstance(info, Decided) and info.request.status is ApprovalStatus.MORE_INFO
    # Asked twice (a second press, or the owner too): one question is asked.
    again = await service.decide(
        user=OWNER, request_id=made.id, action=ApprovalAction.INFO, note="And seats?"
    )
    assert isinstance(again, AlreadyDecided) and "waits for the requester's answer" in (
        again.message
    )
    [dm] = [m for m in await _outbox(engine) if m["target"] == SALES.id]
    told = payloads.decode(dm["payload"])  # type: ignore[arg-type]
    assert isinstance(told, payloads.ApprovalDecided) and told.note == "Which modules?"

    # Only the requester answers; an empty answer, or another person's, changes nothing.
    for who, text, why in ((SALES2, "x", Why.NOT_ALLOWED), (DEAL_DESK, "x", Why.NOT_ALLOWED),
                           (SALES, "  ", Why.NEEDS_NOTE)):  # fmt: skip
        refused = await service.reply(user=who, request_id=made.id, text=text)
        assert isinstance(refused, Refused) and refused.why is why, (who, refused)
    unknown = await service.reply(user=SALES, request_id=made.id + 9, text="x")
    assert isinstance(unknown, Refused) and unknown.why is Why.GONE
    assert (await repo.get(request_id=made.id)).status is ApprovalStatus.MORE_INFO  # type: ignore[union-attr]

    clock.at += dt.timedelta(minutes=5)
    answers = await asyncio.gather(
        service.reply(user=SALES, request_id=made.id, text="Core and Sync, 40 seats"),
        service.reply(user=SALES, request_id=made.id, text="Core and Sync, 40 seats"),
    )
    assert sum(isinstance(a, Requested) for a in answers) == 1  # a double submit: one answer
    assert any(isinstance(a, Refused) and a.why is Why.CLOSED for a in answers)
    to_desk = [m for m in await _outbox(engine) if m["target"] == DEAL_DESK.id]
    back = [m for m in to_desk if m["payload"]["type"] == "approval_ask"]  # type: ignore[index]
    assert len(back) == 2  # the first card, then the card with the answer
    # The cards already posted are refreshed after the question and after the answer.
    refreshes = [payloads.decode(m["payload"]) for m in to_desk if m not in back]  # type: ignore[arg-type]
    assert refreshes == [payloads.ApprovalRefresh(made.id)] * 2
    card = payloads.decode(back[1]["payload"])  # type: ignore[arg-type]
    assert isinstance(card, payloads.ApprovalAsk) and back[1]["kind"] == "dm"
    assert (card.asked, card.answer) == ("Which modules?", "Core and Sync, 40 seats")
    assert (await repo.get(request_id=made.id)).status is ApprovalStatus.PENDING  # type: ignore[union-attr]

    # Asked again after the answer: a second question, and its own DM.
    clock.at += dt.timedelta(minutes=5)
    second = await service.decide(
        user=OWNER, request_id=made.id, action=ApprovalAction.INFO, note="Which year?"
    )
    assert isinstance(second, Decided)
    # Still open: it is approved without another answer, once.
    approved = await service.decide(
        user=DEAL_DESK, request_id=made.id, action=ApprovalAction.APPROVE, note=None
    )
    assert isinstance(approved, Decided) and approved.request.status is ApprovalStatus.APPROVED
    late = await service.reply(user=SALES, request_id=made.id, text="2027")
    assert isinstance(late, Refused) and late.why is Why.CLOSED
    dms = [payloads.decode(m["payload"]) for m in await _outbox(engine) if m["target"] == SALES.id]  # type: ignore[arg-type]
    assert [d.status for d in dms] == ["more_info", "more_info", "approved"]  # type: ignore[union-attr]
    events = await repo.events(request_id=made.id)
    assert [(e["actor_id"], e["from_status"], e["to_status"], e["note"]) for e in events] == [
        (SALES.id, None, "pending", None),
        (DEAL_DESK.id, "pending", "more_info", "Which modules?"),
        (SALES.id, "more_info", "pending", "Core and Sync, 40 seats"),
        (OWNER.id, "pending", "more_info", "Which year?"),
        (DEAL_DESK.id, "more_info", "approved", None),
    ]


async def test_the_decision_dm_names_the_segment_the_request_was_for(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, _, _, _ = setup
    banks = "WDG-PRO|DE|FSI"  # Widget Pro for banks in Germany: Restricted — Compliance review
    made = await service.request(user=SALES, key=banks, values=VALUES, submission=None)
    assert isinstance(made, Requested)
    decided = await service.decide(user=PM, request_id=made.request.id, action=APPROVE, note=None)
    assert isinstance(decided, Decided)
    [dm] = [m for m in await _outbox(engine) if m["target"] == SALES.id]
    told = payloads.decode(dm["payload"])  # type: ignore[arg-type]
    assert isinstance(told, payloads.ApprovalDecided)
    text = decided_text(told, lambda u: u.id)
    assert "Widget Pro in Germany for Financial services for Acme" in text, text


async def test_a_requests_cards_show_what_became_of_it_where_they_were_posted(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot], engine: AsyncEngine
) -> None:
    service, _, clock, _ = setup
    made = (await _request(service)).request
    [row] = await _outbox(engine)
    ask = payloads.decode(row["payload"])  # type: ignore[arg-type]
    assert isinstance(ask, payloads.ApprovalAsk)
    place = CardPlace("D01DEALDESK", "1700000000.000100")
    # Posted while pending: nothing to show but the card itself; the same place kept once.
    assert await service.posted(ask, platform="slack", place=place) is None
    assert await service.posted(ask, platform="slack", place=place) is None
    job = payloads.ApprovalRefresh(made.id)

    async def now(platform: str = "slack") -> tuple[ApprovalCard, list[CardPlace]]:
        got = await service.refreshed(job, platform=platform)
        assert got is not None
        return got

    await service.decide(user=DEAL_DESK, request_id=made.id, action=ApprovalAction.INFO,
                         note="Which modules?")  # fmt: skip
    card, places = await now()
    assert places == [place] and (await now("teams"))[1] == []
    assert card.status is ApprovalStatus.MORE_INFO and card.ask.asked == "Which modules?"
    # Still open: approve or decline, not asked again before an answer.
    assert [b.action.value for b in card.buttons] == ["approval.approve", "approval.decline"]
    assert card.decision(lambda u: u.id) == (
        "U01DEALDESK asked for more information on 03 Dec 10:00 UTC: waiting for the "
        "requester's answer."
    )
    clock.at += dt.timedelta(minutes=5)
    await service.reply(user=SALES, request_id=made.id, text="Core and Sync")
    card, _ = await now()
    assert (card.ask.asked, card.ask.answer) == ("Which modules?", "Core and Sync")
    assert card.decision(lambda u: u.id) is None and len(card.buttons) == 3
    clock.at += dt.timedelta(minutes=5)
    await service.decide(user=DEAL_DESK, request_id=made.id, action=APPROVE, note="Band C")
    card, _ = await now()
    assert card.buttons == () and card.allowed == ()
    assert card.decision(lambda u: u.id) == (
        "Approved by U01DEALDESK on 03 Dec 10:10 UTC, valid until 2 Jan 2027. Note: Band C"
    )
    assert (card.ask.asked, card.ask.answer) == ("Which modules?", "Core and Sync")
    # A card whose post lands after the decision (its refresh found no card yet) is shown
    # as the request now is, at once.
    late = await service.posted(ask, platform="slack", place=CardPlace("D01DEALDESK", "2.0"))
    assert late is not None and late.status is ApprovalStatus.APPROVED
    assert [p.message for p in (await now())[1]] == [place.message, "2.0"]
    assert await service.refreshed(payloads.ApprovalRefresh(made.id + 9), platform="slack") is None


async def test_a_declined_card_says_so_with_the_note_and_offers_nothing(
    setup: tuple[ApprovalService, SqlApprovals, Clock, Bot],
) -> None:
    service, _, _, _ = setup
    made = (await _request(service)).request
    await service.decide(user=OWNER, request_id=made.id, action=ApprovalAction.DECLINE,
                         note="Not for public sector")  # fmt: skip
    got = await service.refreshed(payloads.ApprovalRefresh(made.id), platform="slack")
    assert got is not None
    card, places = got
    assert places == [] and card.buttons == () and card.ask.asked is None
    assert card.decision(lambda u: f"@{u.id}") == (
        "Declined by @U01PMALICE on 03 Dec 10:00 UTC. Note: Not for public sector"
    )
    assert card.fallback.endswith("(Declined)")
