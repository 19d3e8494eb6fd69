"""Briefings apart, on both databases: two isolated workspaces whose PMs have the same ids
each list, correct, delete and count in coverage only their own briefings and decks, a
single-workspace deployment's pool (SHARED) sees neither, and a press naming another
workspace's briefing id changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp.web import HTTPNotFound
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.briefings import Briefing, BriefingDraft, BriefingService
from bot.catalog import CatalogService
from bot.decks import DeckFile
from bot.reports import CoverageQuery, CoverageService
from bot.types import UserRef
from bot.workspace import Workspace
from handlers.links import ChartLinks, DeckLinks
from store.briefings_repo import SqlBriefingRepository
from store.coverage_repo import SqlCoverage
from store.repository import SqlRepository
from tests.conftest import demo_text

A = Workspace("slack", None, "T0A", isolated=True)
B = Workspace("slack", None, "T0B", isolated=True)
PM = UserRef("slack", "U0PM")  # the same id in both (ids are only unique per workspace)
AT = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)
QUARTER = CoverageQuery(
    start=dt.date(2026, 10, 1),
    end=dt.date(2026, 12, 31),
    since=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    until=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    now=AT,
    regions=("AU", "NZ", "APAC"),
)


def _draft(regions: tuple[str, ...], minutes: int, deck: str = "slides.pdf") -> BriefingDraft:
    return BriefingDraft(
        DAY, regions, "Sales", (), 10, ("WDG-PRO",), "Roadmap", None, minutes,
        DeckFile(deck, "application/pdf", deck.encode()),
    )  # fmt: skip


async def _two(engine: AsyncEngine) -> dict[Workspace, Briefing]:
    repo = SqlBriefingRepository(engine)
    made = {}
    # B's briefing also covers A's market, held the same day and made later: the latest
    # deck there is B's, for B only.
    for ws, regions, minutes in ((A, ("AU",), 30), (B, ("NZ", "AU"), 45)):
        with workspace.using(ws):
            made[ws] = await repo.add_briefing(
                pm=PM, draft=_draft(regions, minutes, f"{ws.team_id}.pdf"), at=AT,
                submission_key="same-form",  # a key two workspaces share finds each its own
            )  # fmt: skip
    return made


class Clock:
    def now(self) -> dt.datetime:
        return AT


async def _service(engine: AsyncEngine) -> tuple[dict[Workspace, Briefing], BriefingService]:
    """The catalog, one briefing of the same PM in each workspace, and the service."""
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    service = BriefingService(repo=SqlBriefingRepository(engine), catalog=catalog,
                              clock=Clock(), product_managers=frozenset({PM.id}))  # fmt: skip
    return await _two(engine), service


async def test_each_workspace_lists_and_counts_only_its_own_briefings(
    engine: AsyncEngine,
) -> None:
    made, _ = await _service(engine)
    repo, coverage = SqlBriefingRepository(engine), SqlCoverage(engine)
    assert made[A].id != made[B].id
    for ws, other, regions in ((A, B, {"AU"}), (B, A, {"AU", "NZ"})):
        with workspace.using(ws):
            mine = await repo.briefings(pm=PM)
            assert [b.id for b in mine] == [made[ws].id]
            assert [b.id for b in await repo.briefings()] == [made[ws].id]
            assert await repo.get_briefing(briefing_id=made[other].id) is None
            kept = mine[0].kept
            assert kept is not None and kept.name == f"{ws.team_id}.pdf"
            other_kept = made[other].kept
            assert other_kept is not None
            assert await repo.kept_deck(deck_id=other_kept.id) is None
            found = await repo.kept_deck(deck_id=kept.id)
            assert found is not None and found[1] == f"{ws.team_id}.pdf".encode()
            again = await repo.add_briefing(
                pm=PM, draft=_draft(("AU",), 1), at=AT, submission_key="same-form"
            )
            assert again.id == made[ws].id  # the replayed form finds this workspace's
            figures = await coverage.coverage_figures(QUARTER)
            assert set(figures.regions) == {*regions, "APAC"}
            assert figures.regions["APAC"].briefings == 1
            assert [(p.pm, p.briefings) for p in figures.pms] == [(PM.id, 1)]
            for region in regions:
                deck, copy = figures.regions[region].deck, figures.regions[region].kept_deck
                assert deck is None and copy == (kept.id, kept.name)
    # The one shared pool of a single-workspace deployment sees neither.
    assert await repo.briefings() == []
    assert await repo.get_briefing(briefing_id=made[A].id) is None
    figures = await coverage.coverage_figures(QUARTER)
    assert figures.regions == {} and figures.pms == () and figures.briefings == 0


async def test_a_press_naming_another_workspaces_briefing_changes_nothing(
    engine: AsyncEngine,
) -> None:
    made, service = await _service(engine)
    repo = SqlBriefingRepository(engine)
    theirs = made[A].id
    with workspace.using(B):  # B's PM, with the same id, names A's briefing
        assert (
            await repo.update_briefing(briefing_id=theirs, draft=_draft(("NZ",), 1), at=AT) is None
        )
        assert await repo.keep_deck(briefing_id=theirs, deck=DeckFile("x", "text/plain", b"x"),
                                    at=AT) is None  # fmt: skip
        assert not await repo.delete_briefing(briefing_id=theirs)
        values = {"held_on": DAY.isoformat(), "regions": ["NZ"], "people": "1",
                  "shared": "Changed", "minutes": "1"}  # fmt: skip
        refused = await service.save(user=PM, values=values, briefing_id=theirs)
        assert getattr(refused, "message", "") == f"There is no briefing #{theirs}."
        said = await service.delete(user=PM, briefing_id=theirs)
        assert said == f"There is no briefing #{theirs}."
    with workspace.using(A):
        kept = await repo.get_briefing(briefing_id=theirs)
        assert kept == made[A]  # untouched: its minutes, its deck
    with workspace.using(A):  # and A's own press still works on it
        assert await repo.delete_briefing(briefing_id=theirs)
        assert await repo.briefings() == []
    with workspace.using(B):
        assert [b.id for b in await repo.briefings()] == [made[B].id]
        assert (await repo.briefings())[0].kept is not None


async def test_a_deck_link_serves_the_deck_of_the_workspace_it_was_shown_in(
    engine: AsyncEngine,
) -> None:
    made, service = await _service(engine)
    links = DeckLinks(b"secret", "https://bot.example.com")
    serve = links.handler(service)

    async def fetch(url: str) -> bytes:
        token = url.removeprefix("https://bot.example.com/decks/").split("/")[0]
        request = make_mocked_request("GET", url, match_info={"token": token, "name": "x"})
        body = (await serve(request)).body
        assert isinstance(body, bytes)
        return body

    a_deck, b_deck = made[A].kept, made[B].kept
    assert a_deck is not None and b_deck is not None
    with workspace.using(A):
        mine, forged = links.url(a_deck), links.url(b_deck)  # B's deck id, under A's scope
    assert await fetch(mine) == b"T0A.pdf"  # served outside any request, as A's
    with pytest.raises(HTTPNotFound):
        await fetch(forged)
    with pytest.raises(HTTPNotFound):  # a link made in the shared pool names neither
        await fetch(links.url(a_deck))


async def test_a_coverage_link_shows_the_figures_of_the_workspace_it_was_asked_in(
    engine: AsyncEngine,
) -> None:
    await _service(engine)
    catalog = CatalogService(SqlRepository(engine))
    coverage = CoverageService(figures=SqlCoverage(engine), catalog=catalog, clock=Clock())
    links = ChartLinks(b"secret", "https://bot.example.com")
    serve = links.csv_handler(coverage)

    async def fetch(url: str) -> str:
        token = url.removeprefix("https://bot.example.com/charts/").removesuffix(".csv")
        request = make_mocked_request("GET", url, match_info={"token": token})
        body = (await serve(request)).text
        assert body is not None
        return body

    shown = {}
    for ws in (A, B, None):
        with workspace.using(ws):
            report = await coverage.report("this quarter")
            url = links.csv_url(report.period)
        shown[ws] = (await fetch(url), report.csv())  # served outside any request
    assert all(served == asked for served, asked in shown.values())
    assert len({served for served, _ in shown.values()}) == 3
