"""Receipts: every verdict the bot gave, to whom and when, kept for compliance and so the
people who relied on an answer can be told when it changes."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO, TypeVar

from bot import workspace
from bot.batching import Batched
from bot.catalog import region_path
from bot.ports import Clock
from bot.replies import ProductAnswer, band_text
from bot.spreadsheet import csv_cell
from bot.types import Region, UserRef

log = logging.getLogger(__name__)
T = TypeVar("T")
RECEIPT_FLUSH = 1.0  # seconds
DEFAULT_RETENTION_DAYS = 365
# Answers held in memory while the database refuses their receipts; past this the oldest
# go (and are logged): a long outage must not take the process's memory with it.
MAX_PENDING = 200_000
MY_ANSWERS = 10  # answers `my answers` lists


@dataclass(frozen=True, slots=True)
class Receipt:
    """One verdict as it was shown. Built from the sales-facing answer only, so nothing
    internal (margins, costs, notes) can be part of one."""

    platform: str
    user_id: str
    at: dt.datetime
    sku: str
    product: str  # its name then
    region: str  # the market's code
    segment: str | None
    verdict: str  # bot.types.Verdict value
    reason: str  # the detail shown beside the verdict ("" when none)
    band: str  # the pricing band as shown
    catalog_version: int
    scope: str = workspace.SHARED  # the asker's workspace (bot.workspace.Workspace.scope)

    @property
    def user(self) -> UserRef:
        return UserRef(self.platform, self.user_id)


def receipts_of(
    user: UserRef, answer: ProductAnswer, version: int, at: dt.datetime, scope: str
) -> list[Receipt]:
    """One receipt per (market, segment) combination the answer gives a verdict for: one
    for a plain answer, one for each market and segment shown when the question named
    several (ProductAnswer.combinations)."""
    return [
        Receipt(
            platform=user.platform,
            user_id=user.id,
            at=at,
            sku=answer.product.sku,
            product=answer.product.name,
            region=region.code,
            segment=segment.code if segment else None,
            verdict=a.verdict.value,
            reason=a.detail(),
            band=band_text(a.band),
            catalog_version=version,
            scope=scope,
        )
        for region, segment, a in answer.combinations
    ]


class ReceiptRepository(Protocol):
    async def add(self, receipts: Sequence[Receipt]) -> None: ...

    async def purge(self, *, before: dt.datetime) -> int:
        """Remove receipts older than `before`; returns how many."""
        ...

    def export(
        self, *, since: dt.datetime, until: dt.datetime, scope: str | None
    ) -> AsyncIterator[Receipt]:
        """Receipts from `since` (included) to `until` (excluded), oldest first, streamed:
        of one workspace's scope, or of every workspace (None)."""
        ...

    async def demand(self, *, since: dt.datetime, until: dt.datetime) -> dict[str, tuple[int, int]]:
        """Per market asked about: (answers given, answers not Available) in the period."""
        ...

    async def recent(self, *, user: UserRef, limit: int) -> list[Receipt]:
        """One person's latest receipts in the request's workspace, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class Demand:
    """Questions answered about a region (and the markets below it) in a period."""

    asked: int = 0
    not_available: int = 0  # answered with any verdict but Available


_Pending = list[tuple[UserRef, ProductAnswer, int, dt.datetime, str]]


class Receipts:
    """`record` is what a lookup pays: one append to a list, whatever the answer holds. A
    background task turns the batch into receipts (one per combination an answer gives a
    verdict for) and writes them within RECEIPT_FLUSH seconds (bot.batching)."""

    def __init__(
        self,
        *,
        repo: ReceiptRepository,
        clock: Clock,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        flush_delay: float = RECEIPT_FLUSH,
    ) -> None:
        self._repo = repo
        self._clock = clock
        self.retention_days = retention_days
        self._batch: Batched[_Pending] = Batched(
            empty=list, write=self._write, delay=flush_delay, what="receipts"
        )

    def record(self, user: UserRef, answer: ProductAnswer, version: int) -> None:
        # The scope now: the batch is written later, outside the request.
        self._batch.pending.append((user, answer, version, self._clock.now(), workspace.scope()))
        self._batch.added()

    async def flush(self) -> None:
        await self._batch.flush()

    async def close(self) -> None:
        await self._batch.close()

    async def _write(self, pending: _Pending) -> None:
        if not pending:
            return
        try:
            await self._repo.add([r for p in pending for r in receipts_of(*p)])
        except Exception:
            # Kept for the next flush (a compliance record is not a hint to drop).
            kept = pending + self._batch.pending
            self._batch.pending = kept[-MAX_PENDING:]
            if len(kept) > MAX_PENDING:
                dropped = sum(len(p[1].combinations) for p in kept[:-MAX_PENDING])
                log.error("receipts dropped", extra={"count": dropped})
            self._batch.added()
            raise

    async def demand(
        self, *, since: dt.datetime, until: dt.datetime, regions: Mapping[str, Region]
    ) -> dict[str, Demand]:
        """Per region of `regions`, the answers given from `since` to `until` (excluded)
        about it or a market below it: the demand the coverage report sets beside the
        briefing effort (one aggregate query; the roll-up up the tree is done here)."""
        await self.flush()
        out: dict[str, Demand] = {}
        for code, (asked, refused) in (await self._repo.demand(since=since, until=until)).items():
            for up in region_path(dict(regions), code):
                d = out.get(up, Demand())
                out[up] = Demand(d.asked + asked, d.not_available + refused)
        return out

    async def mine(self, user: UserRef, *, limit: int = MY_ANSWERS) -> str:
        """`my answers`: what this person was told lately, newest first (every platform)."""
        await self.flush()
        got = await self._repo.recent(user=user, limit=limit)
        if not got:
            return "You have not been given an answer yet. Ask e.g. `/product widget pro uae`."
        lines = [
            "Your last answer:" if len(got) == 1 else f"Your last {len(got)} answers, newest first:"
        ]
        for r in got:
            where = r.region + (f" ({r.segment})" if r.segment else "")
            reason = f" — {r.reason}" if r.reason else ""
            lines.append(f"• {r.at:%d %b %H:%M} UTC: {r.product} in {where}: {r.verdict}{reason}")
        return "\n".join(lines)

    async def purge(self) -> int:
        """Receipts past RECEIPT_RETENTION_DAYS are removed (the worker runs this)."""
        before = self._clock.now() - dt.timedelta(days=self.retention_days)
        return await self._repo.purge(before=before)

    async def export(
        self, *, since: dt.date, until: dt.date, scope: str | None = None
    ) -> AsyncIterator[Receipt]:
        """Every receipt of the days `since` to `until`, both included (UTC days): of every
        workspace (compliance's whole record), or of the one whose scope is `scope`."""
        if until < since:
            raise PeriodOrderError(since, until)
        await self.flush()
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        async for receipt in self._repo.export(since=start, until=end, scope=scope):
            yield receipt


class PeriodOrderError(ValueError):
    def __init__(self, since: dt.date, until: dt.date) -> None:
        super().__init__(
            f"--until ({until.isoformat()}) is before --since ({since.isoformat()}): "
            "no day is in that range."
        )


CSV_HEADER = (
    "asked_at",
    "platform",
    "user_id",
    "sku",
    "product",
    "market",
    "segment",
    "verdict",
    "reason",
    "pricing_band",
    "catalog_version",
    "workspace",
)


def csv_row(r: Receipt) -> tuple[str, ...]:
    """One receipt as an export line (UTC, ISO 8601); the columns of CSV_HEADER."""
    at = r.at.astimezone(dt.UTC).isoformat(timespec="seconds")
    return (
        at,
        r.platform,
        r.user_id,
        r.sku,
        csv_cell(r.product),
        r.region,
        r.segment or "",
        r.verdict,
        csv_cell(r.reason),
        csv_cell(r.band),
        str(r.catalog_version),
        r.scope,
    )


async def write_rows(
    rows: AsyncIterator[T], out: TextIO, header: Sequence[str], row: Callable[[T], Sequence[str]]
) -> int:
    """An export as CSV: `header`, then `row` of each record as it streams in; how many."""
    writer = csv.writer(out)
    writer.writerow(header)
    n = 0
    async for r in rows:
        writer.writerow(row(r))
        n += 1
    return n


async def write_csv(rows: AsyncIterator[Receipt], out: TextIO) -> int:
    """The export as CSV (compliance's record): a header, then one line per receipt."""
    return await write_rows(rows, out, CSV_HEADER, csv_row)
