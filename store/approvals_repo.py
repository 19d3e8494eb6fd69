"""Approval requests, their decisions and audit trail (bot.approvals), written with their
outbox rows in one transaction, decided by a conditional update."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.approvals import ApprovalDraft, ApprovalRequest, ApprovalStatus, CardPlace
from bot.ports import Notification
from bot.types import UserRef
from store.feedback_repo import dialect_insert, insert_notifications
from store.models import ApprovalCardRow, ApprovalEventRow, ApprovalRequestRow
from store.scoping import here, visible

_req_t = ApprovalRequestRow.__table__  # type: ignore[attr-defined]
_event_t = ApprovalEventRow.__table__  # type: ignore[attr-defined]
_card_t = ApprovalCardRow.__table__  # type: ignore[attr-defined]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive (stored in UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _request(r: Any) -> ApprovalRequest:
    created = _utc(r.created_at)
    assert created is not None
    return ApprovalRequest(
        id=r.id,
        requester=UserRef(r.requester_platform, r.requester_id),
        draft=ApprovalDraft(
            sku=r.sku,
            product=r.product,
            region=r.region,
            where=r.place,
            segment=r.segment,
            verdict=r.verdict,
            client=r.client,
            deal_value=r.deal_value,
            currency=r.currency,
            why=r.why,
            approver=r.approver,
            sent_to=r.sent_to,
        ),
        status=ApprovalStatus(r.status),
        created_at=created,
        decided_by=UserRef(r.decided_by_platform or "", r.decided_by) if r.decided_by else None,
        decided_at=_utc(r.decided_at),
        note=r.note,
        valid_until=_utc(r.valid_until),
        scope=r.scope,
    )


class SqlApprovals:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _one(self, conn: AsyncConnection, where: Any) -> ApprovalRequest | None:
        # Another workspace's request is no request (a forged or stale press from there).
        row = (await conn.execute(sa.select(_req_t).where(visible(_req_t.c.scope), where))).first()
        return _request(row) if row is not None else None

    async def get(self, *, request_id: int) -> ApprovalRequest | None:
        async with self.engine.connect() as conn:
            return await self._one(conn, _req_t.c.id == request_id)

    async def by_submission(self, *, key: str) -> ApprovalRequest | None:
        async with self.engine.connect() as conn:
            return await self._one(conn, _req_t.c.submission_key == key)

    async def create(
        self,
        *,
        draft: ApprovalDraft,
        requester: UserRef,
        at: dt.datetime,
        notifications: Callable[[ApprovalRequest], Sequence[Notification]],
        submission_key: str | None,
    ) -> ApprovalRequest:
        try:
            async with self.engine.begin() as conn:
                request_id = await conn.scalar(
                    sa.insert(_req_t)
                    .values(
                        requester_platform=requester.platform,
                        requester_id=requester.id,
                        sku=draft.sku,
                        product=draft.product[:200],
                        region=draft.region,
                        place=draft.where[:300],
                        segment=draft.segment,
                        verdict=draft.verdict[:600],
                        client=draft.client[:200],
                        deal_value=draft.deal_value,
                        currency=draft.currency,
                        why=draft.why,
                        approver=draft.approver,
                        sent_to=draft.sent_to[:160],
                        status=ApprovalStatus.PENDING.value,
                        created_at=at,
                        submission_key=submission_key,
                        scope=here(),
                    )
                    .returning(_req_t.c.id)
                )
                await conn.execute(
                    sa.insert(_event_t).values(
                        request_id=request_id,
                        actor_platform=requester.platform,
                        actor_id=requester.id,
                        from_status=None,
                        to_status=ApprovalStatus.PENDING.value,
                        at=at,
                    )
                )
                made = await self._one(conn, _req_t.c.id == request_id)
                assert made is not None
                await insert_notifications(conn, notifications(made), at=at)
            return made
        except sa.exc.IntegrityError:
            # A copy of the same submission committed first: its request is the answer.
            first = await self.by_submission(key=submission_key) if submission_key else None
            if first is None:
                raise
            return first

    async def decide(
        self,
        *,
        request_id: int,
        actor: UserRef,
        was: ApprovalStatus,
        to: ApprovalStatus,
        note: str | None,
        at: dt.datetime,
        valid_until: dt.datetime | None,
        notifications: Sequence[Notification],
    ) -> ApprovalRequest | None:
        decision = {
            "decided_by": actor.id,
            "decided_by_platform": actor.platform,
            "decided_at": at,
            "note": note,
            "valid_until": valid_until,
        }
        return await self._move(request_id, actor, was, to, note, at, notifications, decision)

    async def answer(
        self,
        *,
        request_id: int,
        actor: UserRef,
        text: str,
        at: dt.datetime,
        notifications: Sequence[Notification],
    ) -> ApprovalRequest | None:
        # Who asked, and what, stay on the request: the answer is its audit event.
        more, pending = ApprovalStatus.MORE_INFO, ApprovalStatus.PENDING
        return await self._move(request_id, actor, more, pending, text, at, notifications, {})

    async def _move(
        self,
        request_id: int,
        actor: UserRef,
        was: ApprovalStatus,
        to: ApprovalStatus,
        note: str | None,
        at: dt.datetime,
        notifications: Sequence[Notification],
        values: dict[str, Any],
    ) -> ApprovalRequest | None:
        async with self.engine.begin() as conn:
            # The WHERE on the status it was read in makes each step happen exactly once,
            # whatever the number of concurrent presses (even on different buttons).
            result = await conn.execute(
                sa.update(_req_t)
                .where(_req_t.c.id == request_id, _req_t.c.status == was.value)
                .values(status=to.value, **values)
            )
            if result.rowcount != 1:
                return None
            await conn.execute(
                sa.insert(_event_t).values(
                    request_id=request_id,
                    actor_platform=actor.platform,
                    actor_id=actor.id,
                    from_status=was.value,
                    to_status=to.value,
                    note=note,
                    at=at,
                )
            )
            await insert_notifications(conn, notifications, at=at)
            return await self._one(conn, _req_t.c.id == request_id)

    async def exchange(self, *, request_id: int) -> tuple[str | None, str | None]:
        e = _event_t
        more = ApprovalStatus.MORE_INFO.value
        query = (
            sa.select(e.c.to_status, e.c.note)
            .where(
                e.c.request_id == request_id, sa.or_(e.c.to_status == more, e.c.from_status == more)
            )
            .order_by(e.c.id.desc())
            .limit(2)
        )
        async with self.engine.connect() as conn:
            latest = (await conn.execute(query)).all()  # newest first
        # The newest question, and the answer when it is the one step after it.
        for n, (to, note) in enumerate(latest):
            if to == more:
                answered = n == 1 and latest[0][0] == ApprovalStatus.PENDING.value
                return note, latest[0][1] if answered else None
        return None, None

    async def remember_card(
        self, *, request_id: int, platform: str, place: CardPlace, at: dt.datetime
    ) -> None:
        async with self.engine.begin() as conn:
            row = {
                "scope": here(),
                "request_id": request_id,
                "platform": platform,
                "channel": place.channel[:160],
                "message": place.message[:200],
                "posted_at": at,
            }
            await conn.execute(
                dialect_insert(conn, _card_t)
                .values(row)
                .on_conflict_do_nothing(
                    index_elements=["scope", "request_id", "platform", "channel", "message"]
                )
            )

    async def cards(self, *, request_id: int, platform: str) -> list[CardPlace]:
        c = _card_t
        query = (
            sa.select(c.c.channel, c.c.message)
            .where(visible(c.c.scope), c.c.request_id == request_id, c.c.platform == platform)
            .order_by(c.c.posted_at, c.c.message)
        )
        async with self.engine.connect() as conn:
            return [CardPlace(r.channel, r.message) for r in await conn.execute(query)]

    async def valid(
        self, *, user: UserRef, sku: str, region: str, segment: str | None, now: dt.datetime
    ) -> ApprovalRequest | None:
        t = _req_t
        query = (
            sa.select(t)
            .where(
                visible(t.c.scope),
                t.c.requester_platform == user.platform,
                t.c.requester_id == user.id,
                t.c.sku == sku,
                t.c.region == region,
                t.c.segment.is_(None) if segment is None else t.c.segment == segment,
                t.c.status == ApprovalStatus.APPROVED.value,
                t.c.valid_until > now,
            )
            .order_by(t.c.valid_until.desc(), t.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _request(row) if row is not None else None

    async def holders(self, *, now: dt.datetime) -> frozenset[tuple[str, str]]:
        t = _req_t
        query = (
            sa.select(t.c.requester_platform, t.c.requester_id)
            .where(
                visible(t.c.scope),
                t.c.status == ApprovalStatus.APPROVED.value,
                t.c.valid_until > now,
            )
            .distinct()
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return frozenset((r[0], r[1]) for r in rows)

    async def mine(self, *, user: UserRef, limit: int) -> list[ApprovalRequest]:
        t = _req_t
        query = (
            sa.select(t)
            .where(
                visible(t.c.scope),
                t.c.requester_platform == user.platform,
                t.c.requester_id == user.id,
            )
            .order_by(t.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_request(r) for r in await conn.execute(query)]

    async def export(
        self, *, since: dt.datetime, until: dt.datetime, scope: str | None = None
    ) -> AsyncIterator[ApprovalRequest]:
        query = (
            sa.select(_req_t)
            .where(_req_t.c.created_at >= since, _req_t.c.created_at < until)
            .order_by(_req_t.c.created_at, _req_t.c.id)
        )
        if scope is not None:
            query = query.where(_req_t.c.scope == scope)
        async with self.engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=1000))
            async for row in result:
                yield _request(row)

    async def events(self, *, request_id: int) -> list[dict[str, Any]]:
        """The request's audit trail, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_event_t)
                .where(_event_t.c.request_id == request_id)
                .order_by(_event_t.c.id)
            )
            return [dict(r._mapping) for r in rows]
