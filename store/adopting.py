"""The workspace scopes a deployment's data is kept under: which are in use (the worker's
own periodic messages go out once per scope), and moving the shared rows into one
workspace's scope (turning OAuth on after serving one workspace); every table using the
Scoped mixin, found from the mixin."""

from __future__ import annotations

from collections.abc import Iterable

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


async def scopes_in_use(
    engine: AsyncEngine, *, isolated: bool, installed: Iterable[str] = ()
) -> list[str]:
    """The scopes the worker's own periodic work runs for, sorted: SHARED alone when the
    deployment keeps one pool; else every workspace scope some scoped table holds rows of,
    with `installed` (the scopes of the workspaces that installed the app). SHARED rows of
    an isolated deployment are left to `adopt`: no workspace would receive their messages."""
    if not isolated:
        return [workspace.SHARED]
    found = set(installed)
    async with engine.connect() as conn:
        for table in scoped_tables():
            if not _scope_led(table):
                # Its rows are its parent's (a briefing's deck), whose scopes are probed:
                # without an index to probe, each probe would read every row (deck bytes).
                continue
            # A loose index scan: one probe per distinct scope through the index each table
            # leads with it, not a pass over every row (receipts are millions).
            query = sa.text(
                f"WITH RECURSIVE s(scope) AS (SELECT min(scope) FROM {table.name} "
                f"UNION ALL SELECT (SELECT min(t.scope) FROM {table.name} t "
                "WHERE t.scope > s.scope) FROM s WHERE s.scope IS NOT NULL) "
                "SELECT scope FROM s WHERE scope IS NOT NULL"
            )
            found.update(str(r[0]) for r in await conn.execute(query))
    found.discard(workspace.SHARED)
    return sorted(found)


def _scope_led(table: sa.Table) -> bool:
    """Whether an index or the primary key of `table` leads with its scope column."""
    keys = [list(i.columns) for i in table.indexes] + [list(table.primary_key.columns)]
    return any(cols and cols[0].name == "scope" for cols in keys)
