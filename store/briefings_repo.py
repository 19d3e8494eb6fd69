"""Briefings storage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.briefings import Briefing, BriefingDraft
from bot.types import UserRef
from store.models import BriefingRow

_t = BriefingRow.__table__  # type: ignore[attr-defined]


def _values(draft: BriefingDraft) -> dict[str, Any]:
    return {
        "held_on": draft.held_on,
        "regions": list(draft.regions),
        "team": draft.team,
        "attendees": list(draft.attendees),
        "people": draft.people,
        "products": list(draft.products),
        "shared": draft.shared,
        "deck": draft.deck,
        "minutes": draft.minutes,
    }


def _briefing(r: Any) -> Briefing:
    return Briefing(
        r.id,
        UserRef(r.pm_platform, r.pm_id),
        r.held_on,
        tuple(r.regions or ()),
        r.team,
        tuple(r.attendees or ()),
        r.people,
        tuple(r.products or ()),
        r.shared or "",
        r.deck,
        r.minutes,
    )


class SqlBriefingRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_briefing(
        self,
        *,
        pm: UserRef,
        draft: BriefingDraft,
        at: dt.datetime,
        submission_key: str | None = None,
    ) -> Briefing:
        if submission_key and (first := await self._by_submission(submission_key)):
            return first
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.insert(_t)
                        .values(
                            pm_platform=pm.platform,
                            pm_id=pm.id,
                            created_at=at,
                            updated_at=at,
                            submission_key=submission_key,
                            **_values(draft),
                        )
                        .returning(_t)
                    )
                ).one()
        except sa.exc.IntegrityError:
            # A copy of the same submission committed first: its briefing is the answer.
            first = await self._by_submission(submission_key) if submission_key else None
            if first is None:
                raise
            return first
        return _briefing(row)

    async def _by_submission(self, key: str) -> Briefing | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(_t).where(_t.c.submission_key == key))).first()
        return _briefing(row) if row is not None else None

    async def update_briefing(
        self, *, briefing_id: int, draft: BriefingDraft, at: dt.datetime
    ) -> Briefing | None:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.update(_t)
                    .where(_t.c.id == briefing_id)
                    .values(updated_at=at, **_values(draft))
                    .returning(_t)
                )
            ).first()
        return _briefing(row) if row else None

    async def delete_briefing(self, *, briefing_id: int) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(_t).where(_t.c.id == briefing_id))
        return bool(result.rowcount)

    async def get_briefing(self, *, briefing_id: int) -> Briefing | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(_t).where(_t.c.id == briefing_id))).first()
        return _briefing(row) if row else None

    async def briefings(
        self, *, start: dt.date | None = None, end: dt.date | None = None, pm: UserRef | None = None
    ) -> list[Briefing]:
        query = sa.select(_t).order_by(_t.c.held_on, _t.c.id)
        if start is not None:
            query = query.where(_t.c.held_on >= start)
        if end is not None:
            query = query.where(_t.c.held_on <= end)
        if pm is not None:
            query = query.where(_t.c.pm_platform == pm.platform, _t.c.pm_id == pm.id)
        async with self.engine.connect() as conn:
            return [_briefing(r) for r in await conn.execute(query)]
