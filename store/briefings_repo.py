"""Briefings storage: each workspace's own (written under the request's scope, read only
by requests of the same scope), with the decks kept for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.briefings import Briefing, BriefingDraft
from bot.decks import DeckFile, KeptDeck
from bot.types import UserRef
from store.models import BriefingDeckRow, BriefingRow
from store.scoping import here, visible

_t = BriefingRow.__table__  # type: ignore[attr-defined]
_d = BriefingDeckRow.__table__  # type: ignore[attr-defined]
# A briefing with what is kept of its deck, never the deck's bytes.
_KEPT = (_d.c.id.label("kept_id"), _d.c.name.label("kept_name"),
         _d.c.content_type.label("kept_type"), _d.c.size.label("kept_size"))  # fmt: skip
_WITH_DECK = sa.select(_t, *_KEPT).select_from(_t.outerjoin(_d, _d.c.briefing_id == _t.c.id))


def _mine() -> sa.ColumnElement[bool]:
    """The briefings the request's workspace may see or change."""
    return visible(_t.c.scope)


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
        KeptDeck(r.kept_id, r.kept_name, r.kept_type, int(r.kept_size))
        if getattr(r, "kept_id", None) is not None
        else None,
    )


async def _keep(conn: Any, briefing_id: int, deck: DeckFile | None, at: dt.datetime) -> None:
    """Keeps `deck` as the briefing's copy, replacing any kept before (None keeps that)."""
    if deck is None:
        return
    await conn.execute(sa.delete(_d).where(_d.c.briefing_id == briefing_id))
    await conn.execute(
        sa.insert(_d).values(
            scope=here(),  # the briefing's: callers found it under this scope
            briefing_id=briefing_id,
            name=deck.name[:255],
            content_type=deck.content_type[:255],
            size=deck.size,
            data=deck.data,
            created_at=at,
        )
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
                            scope=here(),
                            pm_platform=pm.platform,
                            pm_id=pm.id,
                            created_at=at,
                            updated_at=at,
                            submission_key=submission_key,
                            **_values(draft),
                        )
                        .returning(_t.c.id)
                    )
                ).one()
                await _keep(conn, row.id, draft.deck_file, at)
        except sa.exc.IntegrityError:
            # A copy of the same submission committed first: its briefing is the answer.
            first = await self._by_submission(submission_key) if submission_key else None
            if first is None:
                raise
            return first
        made = await self.get_briefing(briefing_id=row.id)
        assert made is not None
        return made

    async def _by_submission(self, key: str) -> Briefing | None:
        async with self.engine.connect() as conn:
            query = _WITH_DECK.where(_mine(), _t.c.submission_key == key)
            row = (await conn.execute(query)).first()
        return _briefing(row) if row is not None else None

    async def update_briefing(
        self, *, briefing_id: int, draft: BriefingDraft, at: dt.datetime
    ) -> Briefing | None:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.update(_t)
                    .where(_mine(), _t.c.id == briefing_id)
                    .values(updated_at=at, **_values(draft))
                    .returning(_t.c.id)
                )
            ).first()
            if row is not None:
                await _keep(conn, briefing_id, draft.deck_file, at)
        return await self.get_briefing(briefing_id=briefing_id) if row else None

    async def delete_briefing(self, *, briefing_id: int) -> bool:
        async with self.engine.begin() as conn:
            # Explicitly: SQLite enforces ON DELETE CASCADE only with foreign keys turned on.
            await conn.execute(
                sa.delete(_d).where(visible(_d.c.scope), _d.c.briefing_id == briefing_id)
            )
            result = await conn.execute(sa.delete(_t).where(_mine(), _t.c.id == briefing_id))
        return bool(result.rowcount)

    async def get_briefing(self, *, briefing_id: int) -> Briefing | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_WITH_DECK.where(_mine(), _t.c.id == briefing_id))).first()
        return _briefing(row) if row else None

    async def keep_deck(
        self, *, briefing_id: int, deck: DeckFile, at: dt.datetime
    ) -> KeptDeck | None:
        async with self.engine.begin() as conn:
            # The briefing's row, locked where the database can: a delete waits for this.
            query = sa.select(_t.c.id).where(_mine(), _t.c.id == briefing_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            if (await conn.execute(query)).first() is None:
                return None
            await _keep(conn, briefing_id, deck, at)
        found = await self.get_briefing(briefing_id=briefing_id)
        return found.kept if found else None

    async def kept_deck(self, *, deck_id: int) -> tuple[KeptDeck, bytes] | None:
        async with self.engine.connect() as conn:
            query = sa.select(_d).where(visible(_d.c.scope), _d.c.id == deck_id)
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return KeptDeck(row.id, row.name, row.content_type, int(row.size)), bytes(row.data)

    async def briefings(
        self, *, start: dt.date | None = None, end: dt.date | None = None, pm: UserRef | None = None
    ) -> list[Briefing]:
        query = _WITH_DECK.where(_mine()).order_by(_t.c.held_on, _t.c.id)
        if start is not None:
            query = query.where(_t.c.held_on >= start)
        if end is not None:
            query = query.where(_t.c.held_on <= end)
        if pm is not None:
            query = query.where(_t.c.pm_platform == pm.platform, _t.c.pm_id == pm.id)
        async with self.engine.connect() as conn:
            return [_briefing(r) for r in await conn.execute(query)]
