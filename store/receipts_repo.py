"""Receipts and change-notice opt-outs (bot.receipts)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.receipts import Receipt
from bot.types import UserRef, Verdict
from store.feedback_repo import dialect_insert
from store.models import NoticeOptOutRow, ReceiptRow
from store.scoping import here, visible

_receipt_t = ReceiptRow.__table__  # type: ignore[attr-defined]
_optout_t = NoticeOptOutRow.__table__  # type: ignore[attr-defined]
_FIELDS = tuple(f.name for f in dataclasses.fields(Receipt))
_COLUMNS = tuple(_receipt_t.c[name] for name in _FIELDS)
_BATCH = 1000  # values per IN (...): PostgreSQL takes at most 32,767 parameters
_PURGE_BATCH = 10_000  # rows per DELETE: a day's purge must not hold one huge lock


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive (stored in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _receipt(row: sa.Row[Any]) -> Receipt:
    # Positional, in the dataclass's field order (`_COLUMNS`): an export builds millions.
    values: tuple[Any, ...] = tuple(row)
    return Receipt(values[0], values[1], _utc(values[2]), *values[3:])


class _Insert(NamedTuple):
    sql: str  # in the driver's own placeholders
    values: Callable[[Receipt], tuple[Any, ...]]  # a receipt's, in the placeholders' order
    # (place, SQLAlchemy's bind processor) of each value it converts for this dialect: on
    # SQLite the time, stored as text its DateTime compares and reads back.
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    reason: int
    band: int


_INSERTS: dict[str, _Insert] = {}


def _insert(dialect: sa.Dialect) -> _Insert:
    """The receipt INSERT compiled once per dialect, for the driver's executemany: through
    SQLAlchemy, building each row's parameters cost more than the database's own work, on
    every answer the bot gives."""
    hit = _INSERTS.get(dialect.name)
    if hit is None:
        compiled = sa.insert(_receipt_t).compile(dialect=dialect, column_keys=list(_FIELDS))
        order = list(compiled.positiontup or ())
        assert sorted(order) == sorted(_FIELDS), order
        processors = tuple(
            (i, p)
            for i, name in enumerate(order)
            if (p := _receipt_t.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        )
        hit = _INSERTS[dialect.name] = _Insert(
            str(compiled),
            operator.attrgetter(*order),
            processors,
            order.index("reason"),
            order.index("band"),
        )
    return hit


def _rows(insert: _Insert, receipts: Sequence[Receipt]) -> list[tuple[Any, ...]]:
    rows = []
    for r in receipts:
        row = list(insert.values(r))
        row[insert.reason] = r.reason[:500]
        row[insert.band] = r.band[:200]
        for i, process in insert.processors:
            row[i] = process(row[i])
        rows.append(tuple(row))
    return rows


class SqlReceipts:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        async with self.engine.begin() as conn:
            insert = _insert(conn.dialect)
            rows = _rows(insert, receipts)
            await conn.exec_driver_sql(insert.sql, rows)

    async def purge(self, *, before: dt.datetime) -> int:
        removed = 0
        while True:
            async with self.engine.begin() as conn:
                oldest = (
                    sa.select(_receipt_t.c.id)
                    .where(_receipt_t.c.at < before)
                    .limit(_PURGE_BATCH)
                    .scalar_subquery()
                )
                done = await conn.execute(sa.delete(_receipt_t).where(_receipt_t.c.id.in_(oldest)))
            removed += done.rowcount
            if done.rowcount < _PURGE_BATCH:
                return removed

    async def export(
        self, *, since: dt.datetime, until: dt.datetime, scope: str | None = None
    ) -> AsyncIterator[Receipt]:
        query = (
            sa.select(*_COLUMNS)
            .where(_receipt_t.c.at >= since, _receipt_t.c.at < until)
            .order_by(_receipt_t.c.at, _receipt_t.c.id)
        )
        if scope is not None:
            query = query.where(_receipt_t.c.scope == scope)
        async with self.engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=5000))
            async for row in result:
                yield _receipt(row)

    async def recent(self, *, user: UserRef, limit: int) -> list[Receipt]:
        t = _receipt_t
        query = (
            sa.select(*_COLUMNS)
            .where(visible(t.c.scope), t.c.platform == user.platform, t.c.user_id == user.id)
            .order_by(t.c.at.desc(), t.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_receipt(r) for r in await conn.execute(query)]

    # -- change notices: the catalog is one for every workspace, so an answer it changes
    # was given in any of them; each receipt says whose (its scope), and the DMs go out per
    # workspace (bot.notices). Opt-outs are a person's, in their workspace.

    async def asked(
        self, *, skus: Collection[str], since: dt.datetime, until: dt.datetime
    ) -> set[tuple[str, str, str | None]]:
        t = _receipt_t
        out: set[tuple[str, str, str | None]] = set()
        unique = list(dict.fromkeys(skus))
        async with self.engine.connect() as conn:
            for i in range(0, len(unique), _BATCH):
                query = (
                    sa.select(t.c.sku, t.c.region, t.c.segment)
                    .where(t.c.sku.in_(unique[i : i + _BATCH]), t.c.at >= since, t.c.at < until)
                    .distinct()
                )
                out.update((r.sku, r.region, r.segment) for r in await conn.execute(query))
        return out

    async def askers(
        self,
        *,
        sku: str,
        region: str,
        segment: str | None,
        since: dt.datetime,
        until: dt.datetime,
    ) -> list[Receipt]:
        t = _receipt_t
        latest = (
            sa.func.row_number()
            .over(
                partition_by=(t.c.scope, t.c.platform, t.c.user_id),
                order_by=(t.c.at.desc(), t.c.id.desc()),
            )
            .label("n")
        )
        inner = (
            sa.select(*_COLUMNS, latest)
            .where(
                t.c.sku == sku,
                t.c.region == region,
                t.c.at >= since,
                t.c.at < until,
                t.c.segment.is_(None) if segment is None else t.c.segment == segment,
            )
            .subquery()
        )
        query = (
            sa.select(*(inner.c[name] for name in _FIELDS))
            .where(inner.c.n == 1)
            .order_by(inner.c.scope, inner.c.platform, inner.c.user_id)
        )
        async with self.engine.connect() as conn:
            return [_receipt(r) for r in await conn.execute(query)]

    async def set_notices(self, *, user: UserRef, on: bool, at: dt.datetime) -> None:
        async with self.engine.begin() as conn:
            if on:
                await conn.execute(
                    sa.delete(_optout_t).where(
                        visible(_optout_t.c.scope),
                        _optout_t.c.platform == user.platform,
                        _optout_t.c.user_id == user.id,
                    )
                )
                return
            await conn.execute(
                dialect_insert(conn, _optout_t).on_conflict_do_nothing(),
                [{"scope": here(), "platform": user.platform, "user_id": user.id, "at": at}],
            )

    async def opted_out(self, *, users: Collection[UserRef]) -> set[UserRef]:
        out: set[UserRef] = set()
        unique = list(dict.fromkeys(users))
        key = sa.tuple_(_optout_t.c.platform, _optout_t.c.user_id)
        async with self.engine.connect() as conn:
            for i in range(0, len(unique), _BATCH):
                part = [(u.platform, u.id) for u in unique[i : i + _BATCH]]
                rows = await conn.execute(
                    sa.select(_optout_t.c.platform, _optout_t.c.user_id).where(
                        visible(_optout_t.c.scope), key.in_(part)
                    )
                )
                out.update(UserRef(r.platform, r.user_id) for r in rows)
        return out

    # -- demand, for the coverage report

    async def demand(self, *, since: dt.datetime, until: dt.datetime) -> dict[str, tuple[int, int]]:
        """Per market asked about in the request's workspace: (answers given, answers not
        Available) in the period."""
        t = _receipt_t
        refused = sa.func.sum(sa.case((t.c.verdict != Verdict.AVAILABLE.value, 1), else_=0))
        query = (
            sa.select(t.c.region, sa.func.count().label("asked"), refused.label("refused"))
            .where(visible(t.c.scope), t.c.at >= since, t.c.at < until)
            .group_by(t.c.region)
        )
        async with self.engine.connect() as conn:
            return {
                r.region: (int(r.asked), int(r.refused or 0)) for r in await conn.execute(query)
            }
