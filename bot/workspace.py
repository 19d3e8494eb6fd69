"""Which workspace a request is from: a Slack workspace (in its Grid org) or a Teams tenant;
and the one of the request being handled."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

# The key of the data a workspace sees (`Workspace.scope`, the `scope` column of every table
# holding Slack or Teams user or channel ids). One deployment serving one Slack workspace and
# one Teams tenant keeps one pool, SHARED, as it always has: a Teams rep's item is triaged on
# Slack. A deployment serving many (Slack OAuth, or a multi-tenant Teams bot) isolates each.
SHARED = ""


@dataclass(frozen=True)
class Workspace:
    platform: str  # "slack" | "teams" | "console"
    enterprise_id: str | None  # the Slack Grid org; None outside Grid and on Teams
    team_id: str  # the Slack workspace ("" for an org-wide request naming none); Teams: tenant
    # Whether this deployment keeps each workspace's data apart (it serves many); not part
    # of which workspace this is.
    isolated: bool = field(default=False, compare=False)

    @property
    def scope(self) -> str:
        """The key of the data this workspace sees: SHARED unless isolated, else
        "<platform>:<enterprise id>:<team id>" (a Grid org's workspaces share a prefix)."""
        if not self.isolated:
            return SHARED
        return f"{self.platform}:{self.enterprise_id or ''}:{self.team_id}"

    @staticmethod
    def of_scope(scope: str) -> Workspace | None:
        """The workspace whose data a scope holds (for work done outside any request, such as
        a digest sent per workspace); None for SHARED."""
        platform, _, rest = scope.partition(":")
        enterprise_id, _, team_id = rest.partition(":")
        if not platform:
            return None
        # An empty team is a workspace too: a Grid org-wide request naming no workspace
        # ("slack:E1:"), an activity naming no tenant ("teams::"); read as SHARED, its
        # periodic work would go to the shared pool's channels.
        return Workspace(platform, enterprise_id or None, team_id, isolated=True)


# The workspace of the request being handled. Handlers set it for the length of each request
# (`using`); bot/ and store/ code on that request reads it with `current()`: outbox rows
# written meanwhile are stamped with it, so the worker sends them with that workspace's
# installation. Tasks started from a request inherit it.
_CURRENT: ContextVar[Workspace | None] = ContextVar("salesbridge_workspace", default=None)


def current() -> Workspace | None:
    """The request's workspace, or None (the console, the worker's own periodic work)."""
    return _CURRENT.get()


def scope() -> str:
    """The scope of the request's workspace: what it may read, and what it writes under."""
    here = _CURRENT.get()
    return SHARED if here is None else here.scope


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
