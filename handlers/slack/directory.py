"""What Slack says about the people and channels a settings form names: whether someone is
an admin of the workspace (users.info) and whether the bot can post to a channel
(conversations.info: it must be a member, and the channel not archived)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import ChannelState
from bot.types import UserRef
from bot.workspace import Workspace

if TYPE_CHECKING:
    from handlers.config import Settings
    from handlers.slack.oauth import WorkspaceTokens

log = logging.getLogger(__name__)
ClientFor = Callable[[Workspace], Awaitable[AsyncWebClient | None]]
# What conversations.info answers for a channel this bot cannot see at all.
NOT_FOUND = frozenset(
    {"channel_not_found", "not_in_channel", "method_not_supported_for_channel_type"}
)


def slack_directory(settings: Settings, tokens: WorkspaceTokens | None) -> SlackDirectory:
    """Asking with the one bot token (SLACK_BOT_TOKEN), or with the token of the
    installation of the workspace asked about (OAuth)."""
    base_url = settings.slack_api_url
    if tokens is None:
        assert settings.slack_bot_token is not None
        one = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=base_url)

        async def only(_workspace: Workspace) -> AsyncWebClient | None:
            return one

        return SlackDirectory(only)
    installed = tokens

    async def of_installation(workspace: Workspace) -> AsyncWebClient | None:
        token = await installed.bot_token(workspace.enterprise_id, workspace.team_id or None)
        return None if token is None else AsyncWebClient(token=token, base_url=base_url)

    return SlackDirectory(of_installation)


class SlackDirectory:
    def __init__(self, client_for: ClientFor) -> None:
        self._client_for = client_for

    async def is_admin(self, user: UserRef, workspace: Workspace) -> bool:
        """A workspace admin or owner (users.info); anything Slack cannot confirm is no."""
        client = await self._client_for(workspace)
        if client is None:  # not installed there (any more)
            return False
        try:
            answer = await client.users_info(user=user.id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed: not treated as an admin", extra={"error": _err(exc)})
            return False
        person = answer.get("user") or {}
        if person.get("deleted") or person.get("is_bot"):
            return False
        return bool(person.get("is_admin") or person.get("is_owner"))

    async def channel(self, channel: str, workspace: Workspace) -> ChannelState:
        client = await self._client_for(workspace)
        if client is None:
            return ChannelState.UNCHECKED
        try:
            answer = await client.conversations_info(channel=channel)
        except SlackApiError as exc:
            error = str((exc.response.data or {}).get("error") or "")
            return ChannelState.NOT_FOUND if error in NOT_FOUND else ChannelState.UNCHECKED
        except (aiohttp.ClientError, TimeoutError):
            return ChannelState.UNCHECKED
        info = answer.get("channel") or {}
        if info.get("is_archived"):
            return ChannelState.ARCHIVED
        if not info.get("is_member"):
            return ChannelState.NOT_MEMBER
        return ChannelState.POSTABLE


def _err(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str((exc.response.data or {}).get("error") or "unknown")
    return type(exc).__name__
