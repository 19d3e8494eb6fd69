"""`salesbridge db adopt`: what a one-workspace deployment kept (the shared pool) becomes that
workspace's own, in every table that carries a scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot import workspace
from bot.workspace import Workspace
from store.adopting import adopt, scoped_tables
from store.updates_repo import SqlUpdatesRepository

MONDAY = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def test_every_table_with_a_scope_column_is_adopted() -> None:
    with_scope = {t.name for t in SQLModel.metadata.tables.values() if "scope" in t.c}
    # outbox_pause's scope is a rate limit's (a Slack method in a workspace), not a
    # workspace's data: every other table with the column takes it from the mixin.
    assert "lookup_miss" in with_scope and "outbox_pause" in with_scope
    assert {t.name for t in scoped_tables()} == with_scope - {"outbox_pause"}


async def test_shared_rows_become_the_workspace_s_and_only_they(engine: AsyncEngine) -> None:
    repo = SqlUpdatesRepository(engine)
    team = Workspace("slack", "E0ORG", "T0AAA", isolated=True)
    other = Workspace("slack", None, "T0BBB", isolated=True)
    await repo.record_misses(
        counts=[("", "quantum toaster", "DE", 3), (other.scope, "banana phone", None, 1)],
        at=MONDAY,
    )
    moved = await adopt(engine, team.scope)
    assert moved["lookup_miss"] == 1
    with workspace.using(team):
        assert await repo.misses(since=MONDAY) == [("quantum toaster", "DE", 3)]
    with workspace.using(other):  # another workspace's rows stay its own
        assert await repo.misses(since=MONDAY) == [("banana phone", "", 1)]
    assert await repo.misses(since=MONDAY) == []
    assert (await adopt(engine, team.scope))["lookup_miss"] == 0  # nothing left to move
    with pytest.raises(ValueError):
        await adopt(engine, "")
