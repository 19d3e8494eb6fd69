"""Writes kept in memory and flushed by a background task, off the request's path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Batched(Generic[T]):
    """`pending` collects what requests add (an in-memory append, nothing awaited); within
    `delay` seconds of the first addition a background task hands it to `write`, one
    flush at a time, so a reader that flushes first never reads while the background
    flush is still writing what it took. A failed write is logged (what it held is lost
    unless `write` keeps it): a request never waits for, or fails with, the database."""

    def __init__(
        self,
        *,
        empty: Callable[[], T],
        write: Callable[[T], Awaitable[None]],
        delay: float,
        what: str,
    ) -> None:
        self._empty = empty
        self._write = write
        self._delay = delay
        self._what = what
        self.pending: T = empty()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def added(self) -> None:
        """Call after adding to `pending`: schedules the flush if none is due."""
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self._delay)
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            taken, self.pending = self.pending, self._empty()
            try:
                await self._write(taken)
            except Exception:
                log.exception("could not record %s", self._what)

    async def close(self) -> None:
        """Write what is still in memory (at shutdown)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
