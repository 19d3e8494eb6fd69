"""Workspace scoping for the tables that hold Slack or Teams user and channel ids: the
column every such table carries and the filter every read of it applies."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
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
