"""On Teams a deck is kept from a file sent to the bot in personal chat (the manifest says
supportsFiles; Teams gives the bot a short-lived download URL there), since a card has no
file input: an activity with the file's attachment posted to /api/messages, the file served on
loopback, the copy kept in the database and linked from `briefing list`; past DECK_MAX_MB, from
a host that is not SharePoint, or from someone who is not a PM, nothing is kept."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.types import UserRef
from handlers.teams.inbound import FILE_DOWNLOAD
from tests.handlers.teams.conftest import PM_AAD, SALES_AAD, TeamsDriver, start
from tests.handlers.teams.test_teams import card_of

PUBLIC = "https://bot.example.com"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 400  # 100 KB
MB = 1024 * 1024


@pytest.fixture
async def files() -> AsyncIterator[tuple[TestServer, dict[str, bytes], list[str]]]:
    """Where Teams keeps a sent file (OneDrive), on loopback: name -> bytes, and what was read."""
    stored: dict[str, bytes] = {}
    fetched: list[str] = []

    async def download(request: web.Request) -> web.Response:
        fetched.append(request.match_info["name"])
        return web.Response(body=stored[request.match_info["name"]])

    app = web.Application()
    app.router.add_get("/personal/{name}", download)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, stored, fetched
    await server.close()


@pytest.fixture
async def teams_decks(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(
        db_url, public_url=PUBLIC, link_secret="deck-link-secret-for-tests", deck_max_mb=1
    )
    async with aiohttp.ClientSession() as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()


def _with_file(teams: TeamsDriver, text: str, url: str, name: str, **kw: Any) -> dict[str, Any]:
    activity = teams.activity(text=text, **kw)
    activity["attachments"] = [
        {
            "contentType": FILE_DOWNLOAD,
            "contentUrl": "https://contoso-my.sharepoint.com/personal/x/Documents/" + name,
            "name": name,
            "content": {"downloadUrl": url, "uniqueId": "1150D938", "fileType": "pdf"},
        }
    ]
    return activity


def _last_text(teams: TeamsDriver, user: str) -> str:
    return str(card_of(teams.connector.messages(f"a:dm-{user}")[-1].body)["fallbackText"])


async def _log_briefing(teams: TeamsDriver) -> None:
    today = teams.services.bot.coverage.today().isoformat()  # type: ignore[union-attr]
    data = {"held_on": today, "regions": "AU", "people": "9", "shared": "Roadmap",
            "minutes": "30", "deck": "https://docs.example.com/deck.pdf"}  # fmt: skip
    _, saved = await teams.execute("briefing.save", data, user=PM_AAD)
    assert "Saved: #1" in str(saved["value"])


async def test_a_file_sent_in_chat_is_kept_as_the_deck(
    teams_decks: TeamsDriver, files: tuple[TestServer, dict[str, bytes], list[str]]
) -> None:
    teams = teams_decks
    server, stored, fetched = files
    stored["Q4.pdf"] = PDF
    url = str(server.make_url("/personal/Q4.pdf"))
    await teams.say("briefing", user=PM_AAD)
    form = card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    assert "deck_file" not in json.dumps(form)  # no file input on a card
    await teams.post(_with_file(teams, "", url, "Q4.pdf", user=PM_AAD))
    assert _last_text(teams, PM_AAD).startswith("Log the briefing first")
    await _log_briefing(teams)
    await teams.post(_with_file(teams, "deck for #1", url, "Q4.pdf", user=PM_AAD))
    assert _last_text(teams, PM_AAD).startswith("Kept Q4.pdf (100 KB) as the deck of #1 ")
    await teams.say("briefing list", user=PM_AAD)
    listed = json.dumps(card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body))
    assert "[Deck (link)](https://docs.example.com/deck.pdf)" in listed
    link = re.search(
        r"\[Kept copy: Q4\.pdf \(100 KB\)\]\((" + re.escape(PUBLIC) + r"[^)]+)\)", listed
    )
    assert link, listed
    async with teams.http.get(teams.base + urllib.parse.urlsplit(link[1]).path) as r:
        assert (r.status, r.content_type, await r.read()) == (200, "application/pdf", PDF)
    assert fetched == ["Q4.pdf"]


async def test_nothing_is_kept_past_the_cap_from_elsewhere_or_from_sales(
    teams_decks: TeamsDriver, files: tuple[TestServer, dict[str, bytes], list[str]]
) -> None:
    teams = teams_decks
    server, stored, fetched = files
    await _log_briefing(teams)
    stored["big.pptx"] = b"x" * (2 * MB)
    await teams.post(_with_file(teams, "", str(server.make_url("/personal/big.pptx")), "big.pptx",
                                user=PM_AAD))  # fmt: skip
    assert _last_text(teams, PM_AAD) == (
        "The deck is 2 MB; at most 1 MB is kept (DECK_MAX_MB). Share it as a link instead."
    )
    await teams.post(_with_file(teams, "", "https://files.example.com/x.pdf", "x.pdf", user=PM_AAD))
    assert _last_text(teams, PM_AAD).startswith("That file could not be fetched")
    stored["Q4.pdf"] = PDF
    await teams.post(_with_file(teams, "", str(server.make_url("/personal/Q4.pdf")), "Q4.pdf",
                                user=SALES_AAD))  # fmt: skip
    assert _last_text(teams, SALES_AAD) == "Only product managers log briefings."
    assert "Q4.pdf" not in fetched  # not even read for someone who may not keep it
    briefings = teams.services.bot.briefings
    assert briefings is not None
    [only] = await briefings.mine(UserRef("teams", PM_AAD))
    assert only.kept is None


def test_only_sharepoint_urls_are_fetched_and_loopback_only_when_faked() -> None:
    from handlers.teams.files import TeamsDeckFetcher

    real, faked = TeamsDeckFetcher(), TeamsDeckFetcher(allow_loopback=True)
    good = "https://contoso-my.sharepoint.com/personal/x/_layouts/15/download.aspx?UniqueId=1"
    assert real._allowed(good) and faked._allowed(good)
    for bad in (
        "http://contoso-my.sharepoint.com/x",  # not https
        "https://sharepoint.com.evil.example/x",
        "https://files.example.com/x.pdf",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
    ):
        assert not real._allowed(bad) and not faked._allowed(bad), bad
    assert not real._allowed("http://127.0.0.1:8080/x") and faked._allowed(
        "http://127.0.0.1:8080/x"
    )
