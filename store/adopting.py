"""Moving a deployment's shared rows into one workspace's scope (turning OAuth on after
serving one workspace): every table using the Scoped mixin, found from the mixin."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import store.models  # noqa: F401  # every model registered, so the mixin knows its tables
from bot import workspace
from store.scoping import Scoped


def scoped_tables() -> list[sa.Table]:
    """Every table using the mixin (all models live in store.models), in a fixed order."""
    found: list[sa.Table] = []
    todo: list[type[SQLModel]] = [Scoped]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        table = getattr(model, "__table__", None)
        if isinstance(table, sa.Table) and table not in found:
            found.append(table)
    return sorted(found, key=lambda t: t.name)


async def adopt(engine: AsyncEngine, scope: str) -> dict[str, int]:
    """Move every SHARED row of every scoped table to `scope` (a deployment that served one
    workspace turning OAuth on: its rows become that workspace's), in one transaction: the
    number moved per table. A table already holding a row of `scope` under the same key
    fails the whole move (IntegrityError), nothing moved."""
    if not scope:
        raise ValueError("adopting into the shared pool moves nothing")
    moved: dict[str, int] = {}
    async with engine.begin() as conn:
        for table in scoped_tables():
            result = await conn.execute(
                table.update().where(table.c.scope == workspace.SHARED).values(scope=scope)
            )
            moved[table.name] = int(result.rowcount or 0)
    return moved
