"""Which workspace a request is from: a Slack workspace (in its Grid org) or a Teams tenant;
and the one of the request being handled."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Workspace:
    platform: str  # "slack" | "teams" | "console"
    enterprise_id: str | None  # the Slack Grid org; None outside Grid and on Teams
    team_id: str  # the Slack workspace ("" for an org-wide request naming none); Teams: tenant


# The workspace of the request being handled. Handlers set it for the length of each request
# (`using`); bot/ and store/ code on that request reads it with `current()`: outbox rows
# written meanwhile are stamped with it, so the worker sends them with that workspace's
# installation. Tasks started from a request inherit it.
_CURRENT: ContextVar[Workspace | None] = ContextVar("salesbridge_workspace", default=None)


def current() -> Workspace | None:
    """The request's workspace, or None (the console, the worker's own periodic work)."""
    return _CURRENT.get()


def enter(workspace: Workspace | None) -> None:
    """`workspace` is current for the rest of this task (for a platform that handles each
    request in a task of its own)."""
    _CURRENT.set(workspace)


@contextlib.contextmanager
def using(workspace: Workspace | None) -> Iterator[None]:
    """`workspace` is current inside the block, and the previous one again after: one
    connection may carry many requests, from many workspaces, in one task."""
    token = _CURRENT.set(workspace)
    try:
        yield
    finally:
        _CURRENT.reset(token)
