"""Which workspace each kind of Slack payload and Teams activity is read as."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity

from bot.workspace import Workspace
from handlers.slack.inbound import workspace_of as slack_workspace
from handlers.teams.inbound import workspace_of as teams_workspace


def test_a_slash_command_names_its_workspace_and_grid_org() -> None:
    body = {"team_id": "T1", "enterprise_id": "E1", "user_id": "U1", "command": "/product"}
    assert slack_workspace(body) == Workspace("slack", "E1", "T1")
    assert slack_workspace({"team_id": "T1", "user_id": "U1"}) == Workspace("slack", None, "T1")


def test_an_org_wide_interaction_names_the_workspace_through_its_user() -> None:
    # An org-wide install's interactions carry `team: null`; the user says where they are.
    body: dict[str, Any] = {
        "type": "view_submission",
        "team": None,
        "enterprise": {"id": "E1", "name": "Org"},
        "user": {"id": "U1", "team_id": "T2"},
        "is_enterprise_install": True,
        "view": {"id": "V1", "callback_id": "x"},
    }
    assert slack_workspace(body) == Workspace("slack", "E1", "T2")


def test_an_event_is_read_from_its_authorization() -> None:
    body = {
        "type": "event_callback",
        "team_id": "T9",
        "authorizations": [{"enterprise_id": None, "team_id": "T3", "is_bot": True}],
        "event": {"type": "app_home_opened", "user": "U1"},
    }
    assert slack_workspace(body) == Workspace("slack", None, "T3")


def test_an_org_wide_event_is_read_as_the_workspace_it_happened_in() -> None:
    # Authorized for the org (no team): the same workspace as that workspace's commands.
    body = {
        "type": "event_callback",
        "team_id": "T4",
        "enterprise_id": "E1",
        "is_enterprise_install": True,
        "authorizations": [{"enterprise_id": "E1", "team_id": None, "is_bot": True}],
        "event": {"type": "app_home_opened", "user": "U1"},
    }
    assert slack_workspace(body) == Workspace("slack", "E1", "T4")
    assert slack_workspace(body) == slack_workspace({"team_id": "T4", "enterprise_id": "E1"})


def test_a_teams_tenant_is_the_workspace() -> None:
    activity = Activity.model_validate(
        {
            "type": "message",
            "conversation": {"id": "a:1", "tenantId": "tenant-1"},
            "channelData": {"tenant": {"id": "tenant-1"}},
        }
    )
    assert teams_workspace(activity) == Workspace("teams", None, "tenant-1")
    bare = Activity.model_validate(
        {"type": "message", "conversation": {"id": "a:1"}, "channelData": {"tenant": {"id": "t2"}}}
    )
    assert teams_workspace(bare) == Workspace("teams", None, "t2")
