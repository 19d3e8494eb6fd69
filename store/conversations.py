"""Conversation references (where to reach a Teams user or channel later), by key, each
tenant's under its scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import ConversationRefRow
from store.scoping import here, visible

_ref_t = ConversationRefRow.__table__  # type: ignore[attr-defined]


class SqlConversations:
    """Written under the request's scope (`here()`) and read in it (`visible()`): a
    multi-tenant bot's tenants each keep their own "teams:triage" and user keys."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, *, key: str, reference: dict[str, Any], replace: bool = True) -> bool:
        """Insert or replace (the latest turn's reference wins); with replace=False, insert
        only where no reference is stored yet. True when this reference is now stored."""
        now = dt.datetime.now(dt.UTC)
        scope = here()
        mine = sa.and_(_ref_t.c.scope == scope, _ref_t.c.key == key)
        try:
            async with self.engine.begin() as conn:
                if replace:
                    updated = await conn.execute(
                        sa.update(_ref_t).where(mine).values(reference=reference, updated_at=now)
                    )
                    if updated.rowcount:
                        return True
                elif await conn.scalar(sa.select(_ref_t.c.key).where(mine)):
                    return False
                await conn.execute(
                    sa.insert(_ref_t).values(
                        scope=scope, key=key, reference=reference, updated_at=now
                    )
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
                .where(visible(_ref_t.c.scope), _ref_t.c.key.startswith(prefix, autoescape=True))
                .order_by(_ref_t.c.key)
            )
        return [r[0] for r in rows]

    async def get(self, *, key: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(_ref_t.c.reference).where(visible(_ref_t.c.scope), _ref_t.c.key == key)
            )
        return dict(value) if value else None

    async def scopes(self, *, limit: int = 2) -> list[str]:
        """Up to `limit` of the scopes holding any reference, in order: one alone is the
        tenant a message written outside any request can only be for."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_ref_t.c.scope).distinct().order_by(_ref_t.c.scope).limit(limit)
            )
        return [r[0] for r in rows]
