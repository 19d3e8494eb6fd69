"""A briefing deck attached in a Slack modal (file_input): the file's details from
files.info, its bytes from its private download URL with the bot token (with OAuth, the
installation's of the workspace the form was submitted in), within DECK_MAX_MB."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import workspace
from bot.decks import UNREADABLE, DeckFile, DeckProblem, too_large
from handlers.slack.oauth import RefreshFailed, WorkspaceTokens

log = logging.getLogger(__name__)
# The form waits for the file: Slack closes a modal's submission after 3 seconds.
FETCH_SECONDS = 2.5
_CHUNK = 64 * 1024


# The token to fetch with, asked for on each fetch (None: the app is not installed there).
TokenFor = Callable[[], Awaitable[str | None]]


def request_token(tokens: WorkspaceTokens) -> TokenFor:
    """The bot token of the installation serving the request's workspace (bot.workspace):
    a deck attached in workspace B is read with B's token, never another workspace's."""

    async def token() -> str | None:
        here = workspace.current()
        if here is None:
            return None
        try:
            return await tokens.bot_token(here.enterprise_id, here.team_id or None)
        except RefreshFailed as exc:
            log.warning(
                "cannot fetch a deck: the token was not refreshed", extra={"error": str(exc)}
            )
            return None

    return token


class SlackDeckFetcher:
    def __init__(
        self, *, token: str | TokenFor, api_url: str, seconds: float = FETCH_SECONDS
    ) -> None:
        self._token = token
        self._api_url = api_url
        self._api_host = urllib.parse.urlsplit(api_url).hostname
        self._seconds = seconds

    def _trusted(self, url: object) -> bool:
        """Slack's own file hosts (or the API's host): the bot token goes nowhere else."""
        if not isinstance(url, str):
            return False
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if host == self._api_host:
            return parts.scheme in ("https", "http")
        return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))

    async def fetch(
        self, ref: str, *, max_bytes: int, name: str | None = None
    ) -> DeckFile | DeckProblem:
        try:
            async with asyncio.timeout(self._seconds):
                return await self._fetch(ref, max_bytes)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("cannot fetch a deck from Slack", extra={"error": repr(exc)})
            return UNREADABLE

    async def _fetch(self, ref: str, max_bytes: int) -> DeckFile | DeckProblem:
        token = self._token if isinstance(self._token, str) else await self._token()
        if token is None:
            return UNREADABLE
        client = AsyncWebClient(token=token, base_url=self._api_url, retry_handlers=[])
        try:
            info = await client.files_info(file=ref)
        except SlackApiError as exc:
            log.warning("files.info refused", extra={"error": str(exc.response.get("error"))})
            return UNREADABLE
        file = info.get("file")
        if not isinstance(file, dict):
            return UNREADABLE
        size = file.get("size")
        if isinstance(size, int) and size > max_bytes:
            return too_large(size, max_bytes)  # said before a byte is downloaded
        url = file.get("url_private_download") or file.get("url_private")
        if not self._trusted(url):
            return UNREADABLE
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http, http.get(str(url), headers=headers) as r:
            kind = str(file.get("mimetype") or "application/octet-stream")
            if r.status != 200 or (r.content_type == "text/html" and kind != "text/html"):
                return UNREADABLE  # Slack's sign-in page: the token may not read this file
            data = bytearray()
            async for chunk in r.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > max_bytes:  # files.info said less, or nothing: stop reading
                    return too_large(None, max_bytes)
        name = str(file.get("name") or file.get("title") or "deck")
        return DeckFile(name, kind, bytes(data))
