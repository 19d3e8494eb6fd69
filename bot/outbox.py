"""Delivery policy for the outbox: claim, send, retry with backoff, dedupe, dead-letter."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.ports import Lane

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 1.0  # seconds; doubled per attempt, with jitter
MAX_DELAY = 300.0
LEASE = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    dedupe_key: str
    platform: str
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int  # including the one now under way
    # An earlier attempt may have reached the platform (a worker died mid-send, a timeout,
    # a 5xx): look for that delivery before sending again (see `Recover`).
    unsure: bool = False
    created_at: dt.datetime | None = None
    # The claim this worker holds (a token written on the row when it was claimed): every
    # later write about the row is conditional on it, so a worker whose lease was taken
    # over neither sends nor overwrites what the new owner does.
    claim: str = ""
    lane: int = 1
    # The workspace it was written in (bot.workspace), when it was written on a request.
    enterprise_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A lease check (see OutboxStore.hold) made with the outcome of the message before it."""

    message_id: int
    claim: str
    now: dt.datetime
    until: dt.datetime


@dataclass(frozen=True, slots=True)
class Kept:
    """An outcome written under its claim (false: taken over meanwhile, nothing written);
    with the outcome's `then` hold, whether that message is held for sending."""

    kept: bool
    then: bool = False

    def __bool__(self) -> bool:
        return self.kept


@dataclass(frozen=True, slots=True)
class Sent:
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryLater:
    """A temporary failure: 429 (with Retry-After), 5xx, a timeout, a reset connection.
    `maybe_sent`: the request may have been carried out all the same (a timeout or a 5xx
    after the request went out), so the next attempt looks before it sends.
    `attempted`: False when nothing was sent at all (waiting out another worker's rate
    limit), which costs no attempt."""

    error: str
    retry_after: float | None = None
    maybe_sent: bool = False
    attempted: bool = True


@dataclass(frozen=True, slots=True)
class Failed:
    """A permanent failure (the user blocked the bot, the channel is gone): park it."""

    error: str


Outcome = Sent | RetryLater | Failed


class OutboxStore(Protocol):
    async def claim(
        self,
        *,
        limit: int,
        lease: dt.timedelta,
        now: dt.datetime,
        platforms: frozenset[str] | None = None,
        lanes: frozenset[int] | None = None,
    ) -> list[OutboxMessage]:
        """Due messages (only `platforms'` and `lanes'` when given), most urgent lane first,
        leased to this worker under one new claim token."""
        ...

    async def renew(self, *, claim: str, until: dt.datetime) -> int:
        """Extend the lease of every row still held under `claim`; returns how many."""
        ...

    async def hold(
        self, *, message_id: int, claim: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        """Just before sending: True (and the lease extended) only if the row is still
        this claim's and its lease has not run out, so nobody else may have taken it."""
        ...

    # Outcomes, each conditional on the claim. `then`: also the lease check of the message
    # sent next, in the same transaction (one commit for both).

    async def mark_sent(
        self,
        *,
        message_id: int,
        claim: str,
        result: dict[str, Any],
        now: dt.datetime,
        then: Hold | None = None,
    ) -> Kept: ...

    async def reschedule(
        self,
        *,
        message_id: int,
        claim: str,
        at: dt.datetime,
        error: str,
        count_attempt: bool = True,
        maybe_sent: bool = False,
        then: Hold | None = None,
    ) -> Kept: ...

    async def park(
        self, *, message_id: int, claim: str, error: str, then: Hold | None = None
    ) -> Kept: ...


class PauseStore(Protocol):
    """Rate-limit pauses shared by every worker of every process (stored in the database)."""

    async def paused_until(self, *, scope: str, now: dt.datetime) -> dt.datetime | None: ...

    async def pause(self, *, scope: str, until: dt.datetime) -> None:
        """Pause `scope` until `until` (a later pause already stored is kept)."""
        ...


class Paused(Exception):
    """A platform call not made: some worker was told to wait (a 429) for this scope."""

    def __init__(self, scope: str, seconds: float) -> None:
        super().__init__(f"waiting out a rate limit on {scope}")
        self.scope = scope
        self.seconds = seconds


class RateGate:
    """What a notifier asks before each platform call, and tells after a 429. A scope is
    "<platform>:<workspace>:<method>": Slack and Teams limit each method per workspace, so
    a 429 on chat.update does not hold back chat.postMessage."""

    def __init__(
        self,
        store: PauseStore | None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._now = now

    async def check(self, scope: str) -> None:
        """Raises Paused while any worker has been told to wait for `scope`."""
        if self._store is None:
            return
        now = self._now()
        until = await self._store.paused_until(scope=scope, now=now)
        if until is not None and until > now:
            raise Paused(scope, (until - now).total_seconds())

    async def limited(self, scope: str, seconds: float) -> None:
        if self._store is not None:
            await self._store.pause(scope=scope, until=self._now() + dt.timedelta(seconds=seconds))


Deliver = Callable[[OutboxMessage], Awaitable[Outcome]]


def backoff(
    attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait before the next try. Retry-After is honoured as a floor."""
    jitter = rng.random() if rng is not None else random.random()
    delay = min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, attempts - 1))
    delay = delay / 2 + jitter * delay / 2  # jitter: spread retries of a burst
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class Worker:
    """Delivers due messages. Any number may run: claims are leased rows.

    `run_forever` runs two lanes side by side: one claims only interactive messages, the
    other everything (interactive first), so a decision DM is never queued behind a batch
    of bulk work. A batch's leases are renewed while it is being sent.
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        deliver: Deliver,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        batch: int = 20,
        concurrency: int = 8,
        max_attempts: int = MAX_ATTEMPTS,
        lease: dt.timedelta = LEASE,
        platforms: frozenset[str] | None = None,
        renew_every: float | None = None,
    ) -> None:
        self._lease = lease
        # A third of the lease: two renewals may fail before another worker may take over.
        self._renew_every = renew_every or max(0.5, lease.total_seconds() / 3)
        # The platforms this worker can deliver to: another process delivers the rest (the
        # local console its own), so they must not be claimed and parked as undeliverable.
        self.platforms = platforms
        self._store = store
        self._deliver = deliver
        self._now = now
        self._batch = batch
        self._concurrency = concurrency
        self._sem = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self.wake = _Wake()
        self._stopping = False

    def stop(self) -> None:
        """Finish the batch under way, then leave run_forever (no half-done database work)."""
        self._stopping = True
        self.wake.set()

    async def run_once(
        self, *, lanes: frozenset[int] | None = None, sem: asyncio.Semaphore | None = None
    ) -> int:
        """Claim one batch and deliver it; returns how many were claimed."""
        messages = await self._store.claim(
            limit=self._batch,
            lease=self._lease,
            now=self._now(),
            platforms=self.platforms,
            lanes=lanes,
        )
        if not messages:
            return 0
        keeper = asyncio.create_task(self._keep(messages[0].claim))
        queue = deque(messages)
        slots = min(len(messages), self._concurrency)
        try:
            await asyncio.gather(*(self._slot(queue, sem or self._sem) for _ in range(slots)))
        finally:
            keeper.cancel()
        return len(messages)

    async def _keep(self, claim: str) -> None:
        """Renew the batch's leases while it is being sent (slow answers, a long queue
        behind the semaphore): only a worker that stopped running loses its claims."""
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await self._store.renew(claim=claim, until=self._now() + self._lease)
            except Exception:  # the database may be briefly away; `hold` still decides
                log.warning("outbox lease renewal failed", exc_info=True)

    def _hold(self, message: OutboxMessage) -> Hold:
        now = self._now()
        return Hold(message.id, message.claim, now, now + self._lease)

    async def _slot(self, queue: deque[OutboxMessage], sem: asyncio.Semaphore) -> None:
        """Send messages of the batch one after another, each only after a lease check:
        that of the claim just made, for a first message sent at once; that made with the
        previous message's outcome (same transaction) for the next; else one of its own."""
        at_once = not sem.locked()
        async with sem:
            message = queue.popleft() if queue else None
            held = at_once  # the claim was made a moment ago
            while message is not None:
                if not held:
                    held = await self._store.hold(**dataclasses.asdict(self._hold(message)))
                if not held:
                    # The lease ran out while this message waited: another may have it.
                    log.warning("outbox claim lost before sending", extra={"outbox_id": message.id})
                    message = queue.popleft() if queue else None
                    continue
                outcome = await self._send(message)
                following = queue.popleft() if queue else None
                then = self._hold(following) if following is not None else None
                kept = await self._record(message, outcome, then)
                message, held = following, kept.then

    async def _send(self, message: OutboxMessage) -> Outcome:
        try:
            return await self._deliver(message)
        except Exception as exc:  # a bug in a sender must not stop the worker
            log.exception("delivery crashed", extra={"outbox_id": message.id})
            # It may have crashed after the platform took the message.
            return RetryLater(f"{type(exc).__name__}: {exc}", maybe_sent=True)

    async def _record(self, message: OutboxMessage, outcome: Outcome, then: Hold | None) -> Kept:
        if isinstance(outcome, Sent):
            kept = await self._store.mark_sent(
                message_id=message.id,
                claim=message.claim,
                result=outcome.result,
                now=self._now(),
                then=then,
            )
        elif isinstance(outcome, RetryLater) and not outcome.attempted:
            kept = await self._store.reschedule(
                message_id=message.id,
                claim=message.claim,
                at=self._now() + dt.timedelta(seconds=outcome.retry_after or 1.0),
                error=outcome.error,
                count_attempt=False,
                then=then,
            )
        elif isinstance(outcome, Failed) or message.attempts >= self._max_attempts:
            kept = await self._store.park(
                message_id=message.id, claim=message.claim, error=outcome.error, then=then
            )
            log.warning(
                "outbox message parked as dead",
                extra={
                    "outbox_id": message.id,
                    "kind": message.kind,
                    "attempts": message.attempts,
                    "error": outcome.error[:200],
                },
            )
        else:
            delay = backoff(message.attempts, outcome.retry_after)
            kept = await self._store.reschedule(
                message_id=message.id,
                claim=message.claim,
                at=self._now() + dt.timedelta(seconds=delay),
                error=outcome.error,
                maybe_sent=outcome.maybe_sent,
                then=then,
            )
        if not kept:  # taken over meanwhile: the new owner looks before it sends again
            log.warning("outbox claim lost while sending", extra={"outbox_id": message.id})
        return kept

    async def run_forever(self, *, idle: float = 1.0) -> None:
        """Both lanes: drain what is due; then sleep until woken or `idle` passes."""
        self._stopping = False
        interactive = asyncio.Semaphore(max(1, self._concurrency // 2))
        await asyncio.gather(
            self._lane(frozenset({Lane.INTERACTIVE}), interactive, idle),
            self._lane(None, self._sem, idle),
        )

    async def _lane(
        self, lanes: frozenset[int] | None, sem: asyncio.Semaphore, idle: float
    ) -> None:
        wake = self.wake.event()
        try:
            while not self._stopping:
                try:
                    claimed = await self.run_once(lanes=lanes, sem=sem)
                except Exception:  # the database may be briefly away: try again shortly
                    log.exception("outbox claim failed")
                    claimed = 0
                if claimed or self._stopping:
                    continue
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), timeout=idle)
                except TimeoutError:
                    pass
        finally:
            self.wake.forget(wake)


class _Wake:
    """One `set()` (a local commit wrote to the outbox) wakes every lane."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def event(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def forget(self, event: asyncio.Event) -> None:
        self._events.remove(event)

    def set(self) -> None:
        for event in self._events:
            event.set()
