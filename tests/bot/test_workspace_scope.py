"""Workspace scopes: one shared pool unless the deployment isolates workspaces."""

from __future__ import annotations

from bot import workspace
from bot.workspace import SHARED, Workspace


def test_a_deployment_serving_one_workspace_keeps_one_pool() -> None:
    assert Workspace("slack", None, "T1").scope == SHARED
    assert Workspace("teams", None, "tenant").scope == SHARED
    assert workspace.scope() == SHARED  # outside any request


def test_isolated_workspaces_each_have_their_own_scope_and_round_trip() -> None:
    a = Workspace("slack", "E1", "T1", isolated=True)
    b = Workspace("slack", "E1", "T2", isolated=True)
    teams = Workspace("teams", None, "T1", isolated=True)
    org_wide = Workspace("slack", "E1", "", isolated=True)  # an org request naming no team
    no_tenant = Workspace("teams", None, "", isolated=True)
    assert len({a.scope, b.scope, teams.scope, org_wide.scope, no_tenant.scope}) == 5
    assert a.scope.startswith("slack:E1:") and b.scope.startswith("slack:E1:")
    for ws in (a, b, teams, org_wide, no_tenant):
        back = Workspace.of_scope(ws.scope)
        assert back == ws and back is not None and back.scope == ws.scope
    assert Workspace.of_scope(SHARED) is None


def test_the_current_scope_is_the_requests() -> None:
    with workspace.using(Workspace("slack", None, "T9", isolated=True)):
        assert workspace.scope() == "slack::T9"
    assert workspace.scope() == SHARED
