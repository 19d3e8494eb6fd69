"""Display names of people, per platform, kept where we learn them (their own presses,
submissions and Teams turns), so a person from the other platform can be named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.types import UserRef
from store.feedback_repo import dialect_insert
from store.models import PersonRow
from store.scoping import here, visible

_person_t = PersonRow.__table__  # type: ignore[attr-defined]


class SqlPeople:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Written by this process, per workspace scope: no write per press.
        self._known: dict[tuple[str, UserRef], str] = {}

    async def remember(self, user: UserRef, name: str) -> None:
        name = " ".join(name.split())[:120]
        scope = here()
        if not name or self._known.get((scope, user)) == name:
            return
        now = dt.datetime.now(dt.UTC)
        async with self.engine.begin() as conn:
            insert = dialect_insert(conn, _person_t).values(
                scope=scope, platform=user.platform, user_id=user.id[:64], name=name, updated_at=now
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["scope", "platform", "user_id"],
                    set_={"name": insert.excluded.name, "updated_at": now},
                )
            )
        self._known[(scope, user)] = name

    async def names(self, users: Iterable[UserRef]) -> dict[UserRef, str]:
        wanted = {u for u in users}
        if not wanted:
            return {}
        keys = sa.tuple_(_person_t.c.platform, _person_t.c.user_id)
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_person_t).where(
                    visible(_person_t.c.scope), keys.in_([(u.platform, u.id) for u in wanted])
                )
            )
            return {UserRef(r.platform, r.user_id): r.name for r in rows}
