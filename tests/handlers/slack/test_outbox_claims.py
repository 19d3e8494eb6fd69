"""Must-show: the outbox holds under a slow or throttling platform. A 429 pauses every
worker for that method and workspace (the pause is in the database); a batch's leases are
renewed while slow answers come back; a worker whose lease ran out does not send and does
not overwrite the new owner; interactive messages are claimed before bulk work and never
wait behind it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import Hold, Paused, RateGate, Worker
from bot.ports import Lane, Notification
from handlers.slack.notifier import GatedWebClient, SlackNotifier
from store.db import make_engine
from store.feedback_repo import SqlOutbox
from tests.fakes import BOT_TOKEN, Call, FakeSlack
from tests.handlers.slack.test_delivery_faults import Clock, dm, make_worker


def digest(i: int) -> Notification:
    return Notification(
        "slack",
        "post",
        "C0ANNOUNCE",
        f"bulk:{i}",
        {"type": "digest", "title": f"Bulk {i}", "lines": ["a change"]},
    )


def urgent(i: int) -> Notification:
    base = dm(i)
    return Notification(
        base.platform, base.kind, base.target, base.dedupe_key, base.payload, Lane.INTERACTIVE
    )


def texts(fake: FakeSlack) -> Counter[str]:
    return Counter(str(c.body.get("text")) for c in fake.delivered("chat.postMessage"))


async def test_a_429_pauses_every_worker_for_that_method_and_workspace(
    engine: AsyncEngine, fake_slack: FakeSlack, db_url: str
) -> None:
    clock = Clock()
    first, outbox = make_worker(engine, fake_slack, clock)
    # Another process: its own engine and client, nothing shared but the database.
    other_engine = make_engine(db_url)
    try:
        second, _ = make_worker(other_engine, fake_slack, clock)
        # ...with a token of its own: the workspace is the team auth.test names.
        client = GatedWebClient(token="xoxb-second", base_url=fake_slack.api_url)
        client.gate = RateGate(SqlOutbox(other_engine), clock.now)
        second._deliver = SlackNotifier(client=client, feedback=None).deliver  # type: ignore[arg-type]
        fake_slack.fail_next = [(429, {"Retry-After": "20"})]
        await outbox.enqueue(notifications=[dm(1)], at=clock.now())
        await first.run_once()  # the 429
        await outbox.enqueue(notifications=[dm(i) for i in range(2, 8)], at=clock.now())
        assert await second.run_once() == 6  # claimed, but held back: nothing sent
        assert fake_slack.methods() == ["chat.postMessage", "auth.test"]
        rows = await outbox.messages(status="pending")
        assert {r["attempts"] for r in rows if r["dedupe_key"] != "test:1:U0SALES1"} == {0}
        assert all(r["next_attempt_at"] >= clock.at + dt.timedelta(seconds=19) for r in rows)
        # Only that method is paused: chat.update (and another workspace) go on.
        client = GatedWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, retry_handlers=[])
        client.gate = RateGate(SqlOutbox(other_engine), clock.now)
        with pytest.raises(Paused):
            await client.chat_postMessage(channel="C0X", text="x")
        await client.chat_update(channel="C0X", ts="1.2", text="x")
        elsewhere = GatedWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
        elsewhere.gate, elsewhere.workspace = client.gate, "T0OTHER"
        await elsewhere.chat_postMessage(channel="C0X", text="other workspace")
        clock.at += dt.timedelta(seconds=21)
        for _ in range(5):
            await second.run_once()
            await first.run_once()
        delivered = texts(fake_slack)
        assert sum(delivered.values()) == 8 and max(delivered.values()) == 1
        assert await outbox.counts() == {"sent": 7}
    finally:
        await other_engine.dispose()


async def test_slow_answers_keep_their_lease(engine: AsyncEngine, fake_slack: FakeSlack) -> None:
    """8-second answers with a 10-second lease: the batch's leases are renewed while it is
    sent, so another worker never takes over (and never looks for, or re-sends, them)."""
    clock = Clock()
    outbox = SqlOutbox(engine)
    _, _ = make_worker(engine, fake_slack, clock)
    sender, _ = make_worker(engine, fake_slack, clock)
    sender = Worker(
        store=outbox,
        deliver=sender._deliver,
        now=clock.now,
        concurrency=1,  # the later messages of the batch wait their turn
        lease=dt.timedelta(seconds=10),
        renew_every=0.01,
    )
    other, _ = make_worker(engine, fake_slack, clock)
    taken: list[int] = []

    async def slow(call: Call) -> None:
        if call.method == "chat.postMessage":
            clock.at += dt.timedelta(seconds=8)
            await asyncio.sleep(0.1)  # the renewal runs meanwhile
            taken.append(await other.run_once())

    fake_slack.after_call = slow
    await outbox.enqueue(notifications=[dm(i) for i in range(4)], at=clock.now())
    assert await sender.run_once() == 4
    assert taken == [0, 0, 0, 0]
    assert sorted(texts(fake_slack).values()) == [1, 1, 1, 1]
    assert "conversations.history" not in fake_slack.methods()
    assert await outbox.counts() == {"sent": 4}


async def test_a_worker_whose_lease_ran_out_does_not_send(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    clock = Clock()
    outbox = SqlOutbox(engine)
    template, _ = make_worker(engine, fake_slack, clock)
    stalled = Worker(
        store=outbox,
        deliver=template._deliver,
        now=clock.now,
        concurrency=1,
        renew_every=3600,  # stalled: it renews nothing
    )
    other, _ = make_worker(engine, fake_slack, clock)
    fired: list[int] = []
    stalling = [True]

    async def stall(call: Call) -> None:
        if call.method == "chat.postMessage" and stalling:
            stalling.clear()
            clock.at += dt.timedelta(seconds=61)  # the lease runs out
            fired.append(await other.run_once())  # ...and the other worker takes over

    fake_slack.after_call = stall
    await outbox.enqueue(notifications=[dm(1), dm(2)], at=clock.now())
    await stalled.run_once()
    assert fired == [2]  # both taken over: the one under way, and the one waiting
    delivered = texts(fake_slack)
    assert sorted(delivered.values()) == [1, 1]  # dm(2) not sent by the stalled worker
    rows = {m["dedupe_key"]: m for m in await outbox.messages()}
    assert {r["status"] for r in rows.values()} == {"sent"}
    # dm(1) reached Slack through the stalled worker; the new owner found it there, and the
    # stalled worker's late "sent" did not overwrite the new owner's record.
    assert rows["test:1:U0SALES1"]["result"].get("recovered") is True


async def test_a_stale_claim_cannot_write(engine: AsyncEngine) -> None:
    clock = Clock()
    outbox = SqlOutbox(engine)
    await outbox.enqueue(notifications=[dm(1)], at=clock.now())
    lease = dt.timedelta(seconds=10)
    [mine] = await outbox.claim(limit=5, lease=lease, now=clock.now())
    later = clock.now() + dt.timedelta(seconds=11)
    assert not await outbox.hold(message_id=mine.id, claim=mine.claim, now=later, until=later)
    [theirs] = await outbox.claim(limit=5, lease=lease, now=later)
    assert theirs.claim != mine.claim and theirs.unsure
    assert not await outbox.mark_sent(message_id=mine.id, claim=mine.claim, result={}, now=later)
    assert not await outbox.reschedule(message_id=mine.id, claim=mine.claim, at=later, error="x")
    assert not await outbox.park(message_id=mine.id, claim=mine.claim, error="x")
    assert [m["status"] for m in await outbox.messages()] == ["sending"]
    assert await outbox.hold(message_id=theirs.id, claim=theirs.claim, now=later, until=later)
    assert await outbox.mark_sent(message_id=theirs.id, claim=theirs.claim, result={}, now=later)
    assert await outbox.counts() == {"sent": 1}


async def test_the_next_send_is_checked_with_an_outcome(engine: AsyncEngine) -> None:
    """The lease check of the message a worker sends next rides on the previous outcome's
    statement, and is as strict as one of its own."""
    clock = Clock()
    outbox = SqlOutbox(engine)
    await outbox.enqueue(notifications=[dm(1), dm(2), dm(3)], at=clock.now())
    lease = dt.timedelta(seconds=10)
    first, second, third = await outbox.claim(limit=5, lease=lease, now=clock.now())
    soon = clock.now() + dt.timedelta(seconds=5)
    then = Hold(second.id, second.claim, soon, soon + lease)
    kept = await outbox.mark_sent(
        message_id=first.id, claim=first.claim, result={"ts": "1"}, now=soon, then=then
    )
    assert kept and kept.then  # held, its lease extended
    # Third's lease (from the claim) has run out, though nobody has taken it yet.
    late = clock.now() + dt.timedelta(seconds=11)
    then = Hold(third.id, third.claim, late, late + lease)
    kept = await outbox.mark_sent(
        message_id=second.id, claim=second.claim, result={"ts": "2"}, now=late, then=then
    )
    assert kept and not kept.then  # not to be sent under this claim
    rows = {m["id"]: m for m in await outbox.messages()}
    assert [rows[m.id]["status"] for m in (first, second, third)] == ["sent", "sent", "sending"]
    assert rows[first.id]["result"] == {"ts": "1"} and not rows[third.id]["result"]
    [taken] = await outbox.claim(limit=5, lease=lease, now=late)
    assert taken.id == third.id and taken.unsure


async def test_interactive_messages_are_claimed_before_bulk_work(engine: AsyncEngine) -> None:
    clock = Clock()
    outbox = SqlOutbox(engine)
    await outbox.enqueue(notifications=[digest(i) for i in range(30)], at=clock.now())
    await outbox.enqueue(notifications=[urgent(1)], at=clock.now())
    batch = await outbox.claim(limit=20, lease=dt.timedelta(seconds=60), now=clock.now())
    assert batch[0].dedupe_key == "test:1:U0SALES1" and len(batch) == 20
    only = await outbox.claim(
        limit=20,
        lease=dt.timedelta(seconds=60),
        now=clock.now(),
        lanes=frozenset({Lane.INTERACTIVE}),
    )
    assert only == []  # the bulk rows left are not the interactive lane's


async def test_a_decision_dm_is_never_queued_behind_bulk_work(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    """Every bulk send hangs until the decision DM has arrived: only a lane of its own
    gets the DM out (in one lane it would wait for a free sender that never comes)."""
    clock = Clock()
    worker, outbox = make_worker(engine, fake_slack, clock)
    arrived, busy = asyncio.Event(), asyncio.Event()
    waiting: list[Call] = []

    async def bulk_waits(call: Call) -> None:
        if "Bulk" in str(call.body.get("text") or call.body.get("blocks")):
            waiting.append(call)
            if len(waiting) == 8:  # the bulk lane's senders are all busy
                busy.set()
            await arrived.wait()
        elif call.method == "chat.postMessage":
            arrived.set()

    fake_slack.after_call = bulk_waits
    await outbox.enqueue(notifications=[digest(i) for i in range(40)], at=clock.now())
    task = asyncio.create_task(worker.run_forever(idle=0.01))
    try:
        await busy.wait()
        await outbox.enqueue(notifications=[urgent(1)], at=clock.now())
        worker.wake.set()
        await asyncio.wait_for(arrived.wait(), timeout=30)  # hangs without its own lane
    finally:
        arrived.set()
        worker.stop()
        await task
    assert texts(fake_slack)["Item 1"] <= 1
