"""A deck sent to the bot as a file in a Teams personal chat: fetched from the short-lived,
pre-authorised download URL Teams gives the bot (no token goes with it), within
DECK_MAX_MB, from SharePoint/OneDrive only (loopback too where Teams is faked or emulated)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import mimetypes
import urllib.parse

import aiohttp

from bot.decks import UNREADABLE, DeckFile, DeckProblem, too_large

log = logging.getLogger(__name__)
FETCH_SECONDS = 20.0  # a chat message is answered when it is ready, not within 3 s
_CHUNK = 64 * 1024
# Where Teams keeps files sent in a personal chat: the sender's OneDrive, on SharePoint.
FILE_HOSTS = (".sharepoint.com", ".sharepoint.us", ".sharepoint.de", ".sharepoint.cn")


class TeamsDeckFetcher:
    def __init__(self, *, allow_loopback: bool = False, seconds: float = FETCH_SECONDS) -> None:
        self._loopback = allow_loopback
        self._seconds = seconds

    def _allowed(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if self._loopback and parts.scheme in ("http", "https"):
            try:
                if ipaddress.ip_address(host).is_loopback:
                    return True
            except ValueError:
                if host == "localhost":
                    return True
        return parts.scheme == "https" and host.endswith(FILE_HOSTS)

    async def fetch(
        self, ref: str, *, max_bytes: int, name: str | None = None
    ) -> DeckFile | DeckProblem:
        if not self._allowed(ref):
            log.warning("a Teams file URL outside SharePoint was not fetched")
            return UNREADABLE
        try:
            async with asyncio.timeout(self._seconds):
                return await self._fetch(ref, max_bytes, name or "deck")
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("cannot fetch a deck sent on Teams", extra={"error": repr(exc)})
            return UNREADABLE

    async def _fetch(self, url: str, max_bytes: int, name: str) -> DeckFile | DeckProblem:
        # Redirects are not followed: each hop would need the host check again.
        async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as r:
            if r.status != 200:
                return UNREADABLE
            if r.content_length is not None and r.content_length > max_bytes:
                return too_large(r.content_length, max_bytes)
            data = bytearray()
            async for chunk in r.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    return too_large(None, max_bytes)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return DeckFile(name, kind, bytes(data))
