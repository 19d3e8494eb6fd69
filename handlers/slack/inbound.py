"""Slack payloads -> neutral inputs: the acting user, a command, a press, a submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.request.internals import extract_enterprise_id, extract_team_id

from bot.interactions import AskedIn, Interaction
from bot.types import UserRef
from bot.workspace import Workspace
from handlers.slack.views import SEARCH_PREFIX, state_of, values_of


def user_of(body: dict[str, Any]) -> UserRef:
    """The acting user of a slash command (user_id) or an interaction (user.id)."""
    user = body.get("user")
    uid = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return UserRef("slack", str(uid or ""))


def workspace_of(body: dict[str, Any], *, isolated: bool = False) -> Workspace:
    """The workspace (and Grid org) of any Slack payload: a command, an interaction, an
    event. bolt's own readers know where each payload type keeps them (an org-wide
    install's interactions carry `team: null` and the workspace in `user.team_id`).
    An org-wide install's events are authorized for the org (no team in `authorizations`):
    the workspace is then the payload's own `team_id`, so each workspace of a Grid org is
    the same one on every kind of request (its scope, its settings).
    `isolated`: the deployment keeps each workspace's data apart (Settings.isolates_workspaces)."""
    team = extract_team_id(body) or body.get("team_id")
    return Workspace(
        platform="slack",
        enterprise_id=str(extract_enterprise_id(body) or "") or None,
        team_id=str(team or ""),
        isolated=isolated,
    )


def name_of(body: dict[str, Any]) -> str:
    """The acting user's name as the payload gives it (interactions only)."""
    user = body.get("user")
    if not isinstance(user, dict):
        return ""
    return str(user.get("name") or user.get("username") or "")[:120]


def channel_of(body: dict[str, Any]) -> str | None:
    """The conversation a command or press came from (files for the answer go there)."""
    channel = body.get("channel")
    if isinstance(channel, dict):
        channel = channel.get("id")
    channel = channel or body.get("channel_id")
    return str(channel) if channel else None


def asked_in(body: dict[str, Any]) -> AskedIn | None:
    """Where a command was asked, for its answer's files. A direct message ("D…" ids) is
    taken for the asker's own with the app, the only one it can upload to: files stay
    there (bot.interactions.FilesTo)."""
    channel = channel_of(body)
    return AskedIn(channel, personal=channel.startswith("D")) if channel else None


def press(body: dict[str, Any]) -> Interaction:
    """A block_actions payload: the first action, and any inputs the message carries."""
    action = (body.get("actions") or [{}])[0]
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else action.get("value")
    return Interaction(
        user=user_of(body),
        id=str(action.get("action_id") or ""),
        value=str(value or "")[:2000],
        values=values_of(body),
        files_to=channel_of(body),
        user_name=name_of(body),
    )


def submission(body: dict[str, Any]) -> Interaction:
    view = body.get("view") or {}
    return Interaction(
        user=user_of(body),
        id=str(view.get("callback_id") or ""),
        values=values_of(view),
        state=state_of(view),
        instance=str(view.get("id") or "")[:64],
        user_name=name_of(body),
    )


def from_message(body: dict[str, Any], permalink: str | None) -> Interaction:
    """The message shortcut: the message's text (and its permalink) become feedback."""
    message = body.get("message") or {}
    return Interaction(
        user=user_of(body),
        id=str(body.get("callback_id") or ""),
        values={"details": str(message.get("text") or "") or None},
        state={"permalink": permalink} if permalink else {},
    )


def dataset_of(action_id: str) -> str:
    """The dataset a search field's options come from ("search.products" -> "products")."""
    return action_id.removeprefix(SEARCH_PREFIX)
