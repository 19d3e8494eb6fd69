"""Conversation references (where to reach a Teams user or channel later), by key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import ConversationRefRow

_ref_t = ConversationRefRow.__table__  # type: ignore[attr-defined]


class SqlConversations:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, *, key: str, reference: dict[str, Any], replace: bool = True) -> bool:
        """Insert or replace (the latest turn's reference wins); with replace=False, insert
        only where no reference is stored yet. True when this reference is now stored."""
        now = dt.datetime.now(dt.UTC)
        try:
            async with self.engine.begin() as conn:
                if replace:
                    updated = await conn.execute(
                        sa.update(_ref_t)
                        .where(_ref_t.c.key == key)
                        .values(reference=reference, updated_at=now)
                    )
                    if updated.rowcount:
                        return True
                elif await conn.scalar(sa.select(_ref_t.c.key).where(_ref_t.c.key == key)):
                    return False
                await conn.execute(
                    sa.insert(_ref_t).values(key=key, reference=reference, updated_at=now)
                )
        except sa.exc.IntegrityError:  # another turn inserted it meanwhile
            if not replace:
                return False
            return await self.save(key=key, reference=reference)
        return True

    async def keys(self, *, prefix: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_ref_t.c.key)
                .where(_ref_t.c.key.startswith(prefix, autoescape=True))
                .order_by(_ref_t.c.key)
            )
        return [r[0] for r in rows]

    async def get(self, *, key: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(_ref_t.c.reference).where(_ref_t.c.key == key))
        return dict(value) if value else None
