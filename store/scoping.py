"""Workspace scoping for the tables that hold Slack or Teams user and channel ids: the
column every such table carries, the filter every read of it applies, and the move of a
single workspace's shared rows to its own scope."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

from bot import workspace


class Scoped(SQLModel):
    """Mixin for a table whose rows belong to one workspace (bot.workspace.Workspace.scope):
    written with the request's scope, read only by requests of the same scope. Each table
    leads the indexes its reads use with it."""

    scope: str = Field(
        default=workspace.SHARED,
        max_length=120,
        sa_column_kwargs={"server_default": workspace.SHARED},
    )


def here() -> str:
    """The scope rows written now belong to (the request's; SHARED outside any request)."""
    return workspace.scope()


def visible(column: Any) -> sa.ColumnElement[bool]:
    """The rows of a table (its `scope` column) that the current request may see."""
    return column == here()  # type: ignore[no-any-return]


def scoped_tables() -> list[sa.Table]:
    """Every table using the mixin (all models live in store.models), in a fixed order."""
    import store.models  # noqa: F401  # registers every model

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
