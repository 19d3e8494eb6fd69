"""Delivery policy for the outbox: claim, send, retry with backoff, dedupe, dead-letter."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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


@dataclass(frozen=True, slots=True)
class Sent:
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryLater:
    """A temporary failure: 429 (with Retry-After), 5xx, a timeout, a reset connection.
    `maybe_sent`: the request may have been carried out all the same (a timeout or a 5xx
    after the request went out), so the next attempt looks before it sends."""

    error: str
    retry_after: float | None = None
    maybe_sent: bool = False


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
    ) -> list[OutboxMessage]:
        """Due messages (only `platforms`' when given), leased to this worker."""
        ...

    async def mark_sent(
        self, *, message_id: int, result: dict[str, Any], now: dt.datetime
    ) -> None: ...

    async def reschedule(
        self,
        *,
        message_id: int,
        at: dt.datetime,
        error: str,
        count_attempt: bool = True,
        maybe_sent: bool = False,
    ) -> None: ...

    async def park(self, *, message_id: int, error: str) -> None: ...


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
    """Delivers due messages. Any number may run: claims are leased rows."""

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
    ) -> None:
        self._lease = lease
        # The platforms this worker can deliver to: another process delivers the rest (the
        # local console its own), so they must not be claimed and parked as undeliverable.
        self.platforms = platforms
        self._store = store
        self._deliver = deliver
        self._now = now
        self._batch = batch
        self._sem = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self.wake = asyncio.Event()
        self._stopping = False
        # After a 429 the whole platform waits: sending on would only earn more 429s (and
        # Slack may disable an app that keeps going).
        self._paused_until: dict[str, dt.datetime] = {}

    def stop(self) -> None:
        """Finish the batch under way, then leave run_forever (no half-done database work)."""
        self._stopping = True
        self.wake.set()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many were claimed."""
        messages = await self._store.claim(
            limit=self._batch, lease=self._lease, now=self._now(), platforms=self.platforms
        )
        await asyncio.gather(*(self._one(m) for m in messages))
        return len(messages)

    async def _one(self, message: OutboxMessage) -> None:
        async with self._sem:
            paused = self._paused_until.get(message.platform)
            if paused is not None and paused > self._now():
                await self._store.reschedule(
                    message_id=message.id,
                    at=paused,
                    error="waiting out a rate limit",
                    count_attempt=False,
                )
                return
            try:
                outcome = await self._deliver(message)
            except Exception as exc:  # a bug in a sender must not stop the worker
                log.exception("delivery crashed", extra={"outbox_id": message.id})
                # It may have crashed after the platform took the message.
                outcome = RetryLater(f"{type(exc).__name__}: {exc}", maybe_sent=True)
        if isinstance(outcome, Sent):
            await self._store.mark_sent(
                message_id=message.id, result=outcome.result, now=self._now()
            )
        elif isinstance(outcome, Failed) or message.attempts >= self._max_attempts:
            await self._store.park(message_id=message.id, error=outcome.error)
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
            if outcome.retry_after is not None:
                until = self._now() + dt.timedelta(seconds=outcome.retry_after)
                current = self._paused_until.get(message.platform)
                self._paused_until[message.platform] = max(until, current or until)
            delay = backoff(message.attempts, outcome.retry_after)
            await self._store.reschedule(
                message_id=message.id,
                at=self._now() + dt.timedelta(seconds=delay),
                error=outcome.error,
                maybe_sent=outcome.maybe_sent,
            )

    async def run_forever(self, *, idle: float = 1.0) -> None:
        """Drain what is due; then sleep until woken (a local commit) or `idle` passes."""
        self._stopping = False
        while not self._stopping:
            try:
                claimed = await self.run_once()
            except Exception:  # the database may be briefly away: try again shortly
                log.exception("outbox claim failed")
                claimed = 0
            if claimed or self._stopping:
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=idle)
            except TimeoutError:
                pass
