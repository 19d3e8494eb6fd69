"""A copy of the deck is kept: the briefing modal's file (file_input) is fetched with the bot
token (files.info, then its private download URL) from the fake Slack on loopback, kept in the
database, and linked from /briefing list under a signed, expiring link that any web process
on the same database serves; past DECK_MAX_MB the form's deck field says so and nothing is
saved. A deck given as a link works as before."""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.types import UserRef
from tests.fakes import BOT_TOKEN, FakeSlack
from tests.handlers.conftest import PMS, Answer, SlackDriver, slack_server
from tests.handlers.slack.test_briefings import GOOD, submit
from tests.handlers.slack.test_updates import opened

PUBLIC = "https://bot.example.com"
SECRET = "deck-link-secret-for-tests"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 400  # 102,409 bytes
MB = 1024 * 1024
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


@pytest.fixture
async def decks(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(
        db_url, fake_slack, worker=False, public_url=PUBLIC, link_secret=SECRET, deck_max_mb=2
    ) as driver:
        yield driver


async def _save_with(s: SlackDriver, fid: str) -> Answer:
    await s.command("", command="/briefing", user=PMS[0])
    form = opened(s)
    [el] = [b["element"] for b in form["blocks"] if b.get("block_id") == "deck_file"]
    assert (el["type"], el["max_files"]) == ("file_input", 1)
    return await s.interaction(
        submit(form, PMS[0], {**GOOD, "deck_file": s.fake.file_input_state(fid)})
    )


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes, str]:
    async with http.get(url) as r:
        return r.status, r.content_type, await r.read(), r.headers.get("Content-Disposition", "")


async def _kept_link(s: SlackDriver) -> str:
    listed = str((await s.command("list", command="/briefing", user=PMS[0])).json["blocks"])
    assert "<https://docs.example.com/deck.pdf|Deck (link)>" in listed  # a link as before
    found = re.search(r"<(" + re.escape(PUBLIC) + r"/decks/[^|>]+)\|Kept copy: ([^>]+)>", listed)
    assert found, listed
    assert found[2] == "Q4 roadmap.pdf (100 KB)"
    return found[1]


async def test_a_deck_file_is_kept_and_served_by_a_signed_link(
    decks: SlackDriver, db_url: str, fake_slack: FakeSlack
) -> None:
    s = decks
    s.fake.user_files["F0DECK"] = ("Q4 roadmap.pdf", "application/pdf", PDF)
    saved = await _save_with(s, "F0DECK")
    assert "Saved: #1" in str(saved.json["view"])
    [info] = [c for c in s.fake.calls if c.method == "files.info"]
    assert (info.body["file"], info.token) == ("F0DECK", BOT_TOKEN)
    assert s.fake.downloads == [("F0DECK", BOT_TOKEN)]  # the private URL, with the bot token
    path = urllib.parse.urlsplit(await _kept_link(s)).path
    status, kind, body, disposition = await _get(s.http, s.base + path)
    assert (status, kind, body) == (200, "application/pdf", PDF)
    assert disposition == "attachment; filename*=UTF-8''Q4%20roadmap.pdf"
    # Another web process on the same database serves the same link: the bytes are there.
    async with slack_server(
        db_url, fake_slack, worker=False, public_url=PUBLIC, link_secret=SECRET
    ) as other:
        assert (await _get(other.http, other.base + path))[:3] == (200, "application/pdf", PDF)
    # Forged, altered, of another kind, listed or expired: 404.
    token = path.split("/")[2]
    payload, signature = token.split(".")
    links = s.services.deck_links
    assert links is not None
    chart_kind = links.token("chart", 1)  # signed by the same key, for a chart
    for bad in (
        f"/decks/{payload}.{('A' if signature[0] != 'A' else 'B') + signature[1:]}/x.pdf",
        f"/decks/{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}/x.pdf",
        f"/decks/{payload}/x.pdf",
        f"/decks/{chart_kind}/x.pdf",
        "/decks/",
        "/decks",
    ):
        assert (await _get(s.http, s.base + bad))[0] == 404, bad
    links.clock = lambda: time.time() + 8 * 86_400  # past the link's 7 days
    assert (await _get(s.http, s.base + path))[0] == 404
    # Deleting the briefing deletes its deck: a fresh link to it finds nothing.
    briefings = s.services.bot.briefings
    assert briefings is not None
    [mine] = await briefings.mine(UserRef("slack", PMS[0]))
    assert mine.kept is not None
    links.clock = time.time
    fresh = urllib.parse.urlsplit(links.url(mine.kept)).path
    assert (await _get(s.http, s.base + fresh))[0] == 200
    await briefings.delete(user=UserRef("slack", PMS[0]), briefing_id=mine.id)
    assert (await _get(s.http, s.base + fresh))[0] == 404


async def test_a_deck_past_deck_max_mb_is_refused_on_its_field(decks: SlackDriver) -> None:
    s = decks
    s.fake.user_files["F0BIG"] = ("huge.pptx", PPTX, b"x" * (3 * MB))
    bad = await _save_with(s, "F0BIG")
    assert bad.json == {
        "response_action": "errors",
        "errors": {
            "deck_file": "The deck is 3 MB; at most 2 MB is kept (DECK_MAX_MB). "
            "Share it as a link instead."
        },
    }
    assert s.fake.downloads == []  # refused by files.info's size: not a byte downloaded
    # files.info saying less than the file holds: the download stops past the cap.
    s.fake.reported_size["F0BIG"] = 1000
    bad = await _save_with(s, "F0BIG")
    assert bad.json["errors"]["deck_file"].startswith("The deck is too large; at most 2 MB")
    briefings = s.services.bot.briefings
    assert briefings is not None
    assert await briefings.mine(UserRef("slack", PMS[0])) == []  # nothing saved


async def test_a_file_the_bot_cannot_read_is_said_on_its_field(decks: SlackDriver) -> None:
    s = decks
    s.fake.user_files["F0GONE"] = ("gone.pdf", "application/pdf", PDF)
    await s.command("", command="/briefing", user=PMS[0])
    form = opened(s)
    state = s.fake.file_input_state("F0GONE")
    del s.fake.user_files["F0GONE"]  # deleted before the form was sent: files.info refuses
    bad = await s.interaction(submit(form, PMS[0], {**GOOD, "deck_file": state}))
    assert bad.json["errors"] == {
        "deck_file": "That file could not be fetched. Try again, or share it as a link."
    }


def test_the_bot_token_goes_to_slacks_file_hosts_only() -> None:
    from handlers.slack.files import SlackDeckFetcher

    fetcher = SlackDeckFetcher(token="xoxb-x", api_url="https://slack.com/api/")
    assert fetcher._trusted("https://files.slack.com/files-pri/T1-F1/download/deck.pdf")
    for bad in (
        "http://files.slack.com/files-pri/T1-F1/deck.pdf",  # not https
        "https://files.slack.com.evil.example/deck.pdf",
        "https://evil.example/deck.pdf",
        None,
    ):
        assert not fetcher._trusted(bad), bad
    faked = SlackDeckFetcher(token="xoxb-x", api_url="http://127.0.0.1:9999/api/")
    assert faked._trusted("http://127.0.0.1:9999/files-pri/F1/deck.pdf")  # the fake's host


async def test_with_oauth_a_deck_is_read_with_the_workspaces_own_installation(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    """No SLACK_BOT_TOKEN with OAuth: the file is fetched with the token of the installation
    serving the workspace the form came from (here T0TEAM's), and kept as with one token."""
    from tests.handlers.slack.test_oauth import oauth_server

    async with oauth_server(db_url, fake_slack, public_url=PUBLIC, link_secret=SECRET) as (
        s,
        browser,
    ):
        token = fake_slack.install("code-1", team="T0TEAM")
        assert (await browser.install("code-1"))[0] == 200
        s.fake.user_files["F0DECK"] = ("Q4 roadmap.pdf", "application/pdf", PDF)
        saved = await _save_with(s, "F0DECK")
        assert "Saved: #1" in str(saved.json["view"])
        [info] = [c for c in s.fake.calls if c.method == "files.info"]
        assert (info.body["file"], info.token) == ("F0DECK", token)
        assert s.fake.downloads == [("F0DECK", token)]
        path = urllib.parse.urlsplit(await _kept_link(s)).path
        assert (await _get(s.http, s.base + path))[:3] == (200, "application/pdf", PDF)
