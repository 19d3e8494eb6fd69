"""The coverage chart reaches Teams by signed, expiring links to our own server, one per page
of the chart, so the card stays below Teams' 28 KB: GET /charts/{token}.png answers the PNG
(at most 1024 x 1024 px) while the link is valid, and 404 once it expired, when any part of it
was altered, or for a page the chart does not have."""

from __future__ import annotations

import json
import struct
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.big_catalog import big_catalog
from tests.handlers.teams.conftest import PM_AAD, TeamsDriver, start
from tests.handlers.teams.test_teams import card_of

PUBLIC = "https://bot.example.com"


@pytest.fixture
async def linked(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(
        db_url, public_url=PUBLIC, link_secret="chart-link-secret-for-tests"
    )
    async with aiohttp.ClientSession() as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()


async def _chart_url(teams: TeamsDriver) -> str:
    await teams.say("coverage this quarter", user=PM_AAD)
    card = card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    [image] = [el for el in card["body"] if el["type"] == "Image"]
    url: str = image["url"]
    assert url.startswith(PUBLIC + "/charts/") and url.endswith(".png")
    return url


async def _get(teams: TeamsDriver, path: str) -> tuple[int, str, bytes]:
    async with teams.http.get(teams.base + path) as r:
        return r.status, r.content_type, await r.read()


async def test_the_card_links_a_chart_that_our_server_serves(linked: TeamsDriver) -> None:
    path = urllib.parse.urlsplit(await _chart_url(linked)).path
    status, kind, png = await _get(linked, path)
    assert (status, kind) == (200, "image/png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width <= 1024 and height <= 1024


async def test_an_altered_or_expired_link_is_not_found(linked: TeamsDriver) -> None:
    path = urllib.parse.urlsplit(await _chart_url(linked)).path
    token = path.removeprefix("/charts/").removesuffix(".png")
    payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (
        f"/charts/{payload}.{flipped}.png",  # forged signature
        f"/charts/{payload[:-2]}{payload[-1]}{payload[-2]}.{signature}.png",  # altered period
        f"/charts/{payload}.png",  # no signature at all
        "/charts/",  # no listing
        "/charts",
    ):
        assert (await _get(linked, bad))[0] == 404, bad
    assert (await _get(linked, path))[0] == 200
    links = linked.services.chart_links
    assert links is not None
    links.clock = lambda: time.time() + 8 * 86_400  # past the link's 7 days
    links._drawn.clear()  # a drawn chart is no licence to serve an expired link
    assert (await _get(linked, path))[0] == 404


async def test_without_public_url_and_secret_there_is_no_chart_route(teams: TeamsDriver) -> None:
    assert teams.services.chart_links is None
    assert (await _get(teams, "/charts/x.y.png"))[0] == 404


async def test_coverage_csv_links_a_signed_download(linked: TeamsDriver) -> None:
    await linked.say("coverage csv this quarter", user=PM_AAD)
    card = card_of(linked.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    [download] = card["actions"]
    url: str = download["url"]
    assert download["type"] == "Action.OpenUrl" and url.endswith(".csv")
    path = urllib.parse.urlsplit(url).path
    status, kind, body = await _get(linked, path)
    assert (status, kind) == (200, "text/csv")
    assert body.decode().startswith("region_code,region,parent_code,briefings")
    payload, signature = path.removeprefix("/charts/").removesuffix(".csv").split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert (await _get(linked, f"/charts/{payload}.{flipped}.csv"))[0] == 404


def targeted_catalog(regions: int) -> str:
    """tests/big_catalog.py's regions, each with a briefing target: a report row for each."""
    data: dict[str, Any] = yaml.safe_load(big_catalog(regions=regions, rules=10))
    for region in data["regions"][1:]:
        region["briefing_target_per_quarter"] = 1
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


async def test_125_regions_fit_the_card_with_a_chart_link_per_page(linked: TeamsDriver) -> None:
    await linked.services.catalog.import_catalog(targeted_catalog(125))
    await linked.say("coverage this quarter", user=PM_AAD)
    card = card_of(linked.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    assert len(json.dumps(card, ensure_ascii=False).encode()) < 28_000
    coverage = linked.services.bot.coverage
    assert coverage is not None
    pages = (await coverage.report("this quarter")).chart_pages()
    assert len(pages) > 1 and sum(map(len, pages)) == 124  # every region below Global
    images = [el for el in card["body"] if el["type"] == "Image"]
    assert [el["altText"].rsplit(", ", 1)[-1] for el in images] == [
        f"page {n} of {len(pages)}" for n in range(1, len(pages) + 1)
    ]
    drawn = []
    for image in images:
        assert image["url"].startswith(PUBLIC + "/charts/")
        status, kind, png = await _get(linked, urllib.parse.urlsplit(image["url"]).path)
        assert (status, kind) == (200, "image/png")
        width, height = struct.unpack(">II", png[16:24])
        assert width <= 1024 and height <= 1024
        drawn.append(png)
    assert len(set(drawn)) == len(pages)  # each link its own page
    links = linked.services.chart_links
    assert links is not None
    report = await coverage.report("this quarter")
    past = urllib.parse.urlsplit(links.url(report.period, len(pages) + 1)).path
    assert (await _get(linked, past))[0] == 404  # signed, but no such page
