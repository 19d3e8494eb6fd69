"""Catalog history, verification, subscriptions and lookup misses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.catalog_file import sales_form
from bot.ports import PreparedChange
from bot.types import UserRef
from store.feedback_repo import dialect_insert, insert_notifications
from store.models import (
    CatalogChangeRow,
    LookupMissRow,
    ProductRow,
    ProductVerificationRow,
    SubscriptionRow,
)
from store.scoping import here, visible

_change_t = CatalogChangeRow.__table__  # type: ignore[attr-defined]
_verify_t = ProductVerificationRow.__table__  # type: ignore[attr-defined]
_sub_t = SubscriptionRow.__table__  # type: ignore[attr-defined]
_miss_t = LookupMissRow.__table__  # type: ignore[attr-defined]
_product_t = ProductRow.__table__  # type: ignore[attr-defined]
_BATCH = 1000


async def _verify(conn: AsyncConnection, skus: Sequence[str], by: str, at: dt.datetime) -> None:
    if not skus:
        return
    stmt = dialect_insert(conn, _verify_t)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["sku"],
            set_={
                "verified_at": stmt.excluded.verified_at,
                "verified_by": stmt.excluded.verified_by,
            },
        ),
        [{"sku": s, "verified_at": at, "verified_by": by} for s in dict.fromkeys(skus)],
    )


async def write_prepared(conn: AsyncConnection, prepared: PreparedChange) -> None:
    """History, verifications and notifications of a catalog change, in its transaction."""
    history = prepared.history
    for i in range(0, len(history), _BATCH):  # a batch's rows at a time, not 100k dicts
        await conn.execute(
            sa.insert(_change_t),
            [
                {
                    "change_set": prepared.change_set,
                    "sku": h.sku,
                    "source": prepared.source,
                    "actor": prepared.actor,
                    "fields": list(h.fields),
                    "lines": list(h.lines),
                    "before": sales_form(h.before),
                    "after": sales_form(h.after),
                    "at": prepared.at,
                }
                for h in history[i : i + _BATCH]
            ],
        )
    await _verify(conn, prepared.verified, prepared.actor, prepared.at)
    await insert_notifications(conn, prepared.notifications, at=prepared.at)


class SqlUpdatesRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def history(self, *, sku: str, limit: int = 10) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_change_t)
                .where(_change_t.c.sku == sku)
                .order_by(_change_t.c.id.desc())
                .limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    async def recent(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """The latest product changes sales were told about, newest first, one page."""
        query = (
            sa.select(_change_t.c.at, _change_t.c.actor, _change_t.c.lines)
            .where(sa.cast(_change_t.c.lines, sa.Text) != "[]")
            .order_by(_change_t.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def verification(self, *, sku: str) -> tuple[dt.datetime, str] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(_verify_t).where(_verify_t.c.sku == sku))).first()
        return (row.verified_at, row.verified_by) if row else None

    async def verify(self, *, sku: str, by: str, at: dt.datetime) -> None:
        async with self.engine.begin() as conn:
            await _verify(conn, [sku], by, at)

    async def unverified(
        self, *, older_than: dt.datetime
    ) -> list[tuple[str, str | None, dt.datetime | None]]:
        """(sku, owner, verified_at) of products not verified since `older_than`."""
        query = (
            sa.select(_product_t.c.sku, _product_t.c.owner, _verify_t.c.verified_at)
            .select_from(_product_t.outerjoin(_verify_t, _verify_t.c.sku == _product_t.c.sku))
            .where(sa.or_(_verify_t.c.verified_at.is_(None), _verify_t.c.verified_at < older_than))
            .order_by(_product_t.c.position)
        )
        async with self.engine.connect() as conn:
            return [(r.sku, r.owner, r.verified_at) for r in await conn.execute(query)]

    async def subscribe(self, *, user: UserRef, sku: str, at: dt.datetime) -> bool:
        """True when this made a new subscription (a double click makes one)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                dialect_insert(conn, _sub_t)
                .values(
                    scope=here(), platform=user.platform, user_id=user.id, sku=sku, created_at=at
                )
                .on_conflict_do_nothing()
            )
            return bool(result.rowcount)

    async def unsubscribe(self, *, user: UserRef, sku: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.delete(_sub_t).where(
                    visible(_sub_t.c.scope),
                    _sub_t.c.platform == user.platform,
                    _sub_t.c.user_id == user.id,
                    _sub_t.c.sku == sku,
                )
            )
            return bool(result.rowcount)

    async def subscriptions(self, *, user: UserRef) -> list[str]:
        async with self.engine.connect() as conn:
            return list(
                (
                    await conn.execute(
                        sa.select(_sub_t.c.sku)
                        .where(
                            visible(_sub_t.c.scope),
                            _sub_t.c.platform == user.platform,
                            _sub_t.c.user_id == user.id,
                        )
                        .order_by(_sub_t.c.sku)
                    )
                ).scalars()
            )

    async def subscribers(self, *, skus: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        if not skus:
            return out
        rows: list[Any] = []
        async with self.engine.connect() as conn:
            unique = list(dict.fromkeys(skus))
            for i in range(0, len(unique), _BATCH):  # an import may touch 100k products
                part = unique[i : i + _BATCH]
                # The changing workspace's subscribers: their DMs go out with its token.
                rows += await conn.execute(
                    sa.select(_sub_t).where(visible(_sub_t.c.scope), _sub_t.c.sku.in_(part))
                )
        for r in sorted(rows, key=lambda r: r.created_at):
            out.setdefault(r.sku, []).append((r.platform, r.user_id))
        return out

    async def record_misses(
        self, *, counts: Sequence[tuple[str, str, str | None, int]], at: dt.datetime
    ) -> None:
        """Add many counts (scope, query, region, count) in one statement run for every row
        (the flush of a process's tally, whose counts keep the scope of the request that
        made each: a busy second's hundreds of distinct misses must not cost a round trip
        each)."""
        if not counts:
            return
        # One row per key: questions cut to 200 characters may meet, and one statement
        # should not update a row twice (PostgreSQL refuses that in a multi-row INSERT).
        merged: dict[tuple[str, str, str], int] = {}
        for scope, query, region, n in counts:
            key = (scope, query[:200], region or "")
            merged[key] = merged.get(key, 0) + n
        async with self.engine.begin() as conn:
            stmt = dialect_insert(conn, _miss_t)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["scope", "query", "region_code", "day"],
                    set_={
                        "count": _miss_t.c.count + stmt.excluded.count,
                        "last_at": stmt.excluded.last_at,
                    },
                ),
                [
                    {
                        "scope": scope,
                        "query": query,
                        "region_code": region,
                        "day": at.date(),
                        "count": n,
                        "first_at": at,
                        "last_at": at,
                    }
                    for (scope, query, region), n in merged.items()
                ],
            )

    async def product_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(_product_t)) or 0)

    async def misses(self, *, since: dt.datetime, limit: int = 20) -> list[tuple[str, str, int]]:
        """What was not found since `since` (counts of those days only), most asked first."""
        total = sa.func.sum(_miss_t.c.count).label("total")
        query = (
            sa.select(_miss_t.c.query, _miss_t.c.region_code, total)
            .where(visible(_miss_t.c.scope), _miss_t.c.day >= since.date())
            .group_by(_miss_t.c.query, _miss_t.c.region_code)
            .order_by(total.desc(), _miss_t.c.query)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [(r.query, r.region_code, int(r.total)) for r in await conn.execute(query)]
