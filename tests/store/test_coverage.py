"""Coverage aggregates in SQL: exact numbers on hand-made rows (flags, medians, CSV, time
zones), and on a generated year the same report on SQLite and PostgreSQL as a computation in
Python over every row."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history_data import NOW as SEEDED_NOW
from bench.history_data import seed_history
from bot.catalog import CatalogService, region_path
from bot.items import Status
from bot.reports import (
    STATUS_ORDER,
    CoverageQuery,
    PmRow,
    RegionRow,
    Report,
    build_report,
    coverage_query,
    parse_period,
    report_regions,
)
from bot.types import Region
from store.coverage_repo import SqlCoverage
from store.models import BriefingDeckRow, BriefingRow, FeedbackItemRow
from tests.conftest import demo_text

UTC = dt.UTC
SYDNEY = ZoneInfo("Australia/Sydney")
ALICE, BRUNO = "U01PMALICE", "U01PMBRUNO"


def b(
    i: int, pm: str, day: str, regions: tuple[str, ...], minutes: int, people: int
) -> dict[str, Any]:
    at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    return dict(id=i, pm_platform="slack", pm_id=pm, held_on=dt.date.fromisoformat(day),
                regions=list(regions), attendees=[], products=[], people=people, shared="Roadmap",
                minutes=minutes, created_at=at, updated_at=at)  # fmt: skip


def item(i: int, region: str | None, created: str, decided: str | None = None,
         status: Status = Status.NEW) -> dict[str, Any]:  # fmt: skip
    at = dt.datetime.fromisoformat(created)
    return dict(id=i, title=f"Item {i}", kind="problem", client="Acme", region_code=region,
                urgency="normal", details="details", submitter_platform="slack",
                submitter_id="U0SALES", status=status.value, created_at=at, updated_at=at,
                decided_at=dt.datetime.fromisoformat(decided)
                if decided else None)  # fmt: skip


BRIEFINGS = [
    b(1, ALICE, "2026-07-01", ("AU",), 60, 12),  # first day of Q3
    b(2, ALICE, "2026-08-15", ("AU", "NZ"), 45, 8),  # counts once for APAC
    b(3, BRUNO, "2026-09-30", ("UK",), 30, 5),  # last day of Q3
    b(4, BRUNO, "2026-10-01", ("US",), 90, 20),  # Q4
    b(5, ALICE, "2026-06-30", ("APAC",), 60, 30),  # Q2
]
ITEMS = [
    item(1, "AU", "2026-07-02T00:00:00+00:00", "2026-07-02T10:00:00+00:00", Status.NOW),
    item(2, "AU", "2026-07-10T00:00:00+00:00", "2026-07-12T00:00:00+00:00", Status.LATER),
    item(3, "JP", "2026-08-01T00:00:00+00:00", "2026-08-01T06:00:00+00:00", Status.DECLINED),
    item(4, "UK", "2026-09-20T00:00:00+00:00"),  # still new
    # 30 Sep 2026 15:00 UTC is already 1 Oct in Sydney: Q3 in UTC, Q4 in Sydney.
    item(5, "AU", "2026-09-30T15:00:00+00:00"),
]
NOW = dt.datetime(2026, 10, 15, 12, 0, tzinfo=UTC)


async def _regions(engine: AsyncEngine, repo: Any) -> dict[str, Region]:
    await CatalogService(repo).import_catalog(demo_text())
    return dict((await CatalogService(repo).view()).catalog.regions)


async def _sql_report(
    engine: AsyncEngine, regions: dict[str, Region], text: str, today: dt.date, now: dt.datetime,
    tz: ZoneInfo | dt.timezone,
) -> Report:  # fmt: skip
    period = parse_period(text, today)
    figures = await SqlCoverage(engine).coverage_figures(
        coverage_query(period, now=now, tz=tz, regions=regions)  # type: ignore[arg-type]
    )
    return build_report(
        period=period, regions=regions, figures=figures, default_target=1, pm_target=3
    )


@pytest.fixture
async def hand_made(engine: AsyncEngine, repo: Any) -> dict[str, Region]:
    regions = await _regions(engine, repo)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(BriefingRow.__table__), BRIEFINGS)  # type: ignore[attr-defined]
        await conn.execute(sa.insert(FeedbackItemRow.__table__), ITEMS)  # type: ignore[attr-defined]
    return regions


async def q3(engine: AsyncEngine, regions: dict[str, Region], tz: Any = UTC) -> Report:
    return await _sql_report(engine, regions, "2026-Q3", dt.date(2026, 10, 15), NOW, tz)


async def test_region_numbers_and_flags(engine: AsyncEngine, hand_made: dict[str, Region]) -> None:
    report = await q3(engine, hand_made)
    rows = {r.code: r for r in report.regions}
    apac, emea, amer = rows["APAC"], rows["EMEA"], rows["AMER"]
    assert (apac.briefings, apac.minutes, apac.people, apac.last_briefing) == (
        2, 105, 20, dt.date(2026, 8, 15),
    )  # fmt: skip
    assert (emea.briefings, emea.minutes, emea.people) == (1, 30, 5)
    assert amer.briefings == 0 and amer.status == "none"  # the Q4 briefing is not counted
    # AU has its own target (2 per quarter in the demo catalog): 2 held -> on track.
    assert (rows["AU"].briefings, rows["AU"].target, rows["AU"].status) == (2, 2, "on track")
    targets = {r.code: r.target for r in report.regions}
    assert emea.status == ("on track" if emea.briefings >= targets["EMEA"] else "behind")
    statuses = [r.status for r in report.regions]  # regions needing attention come first
    assert statuses == sorted(statuses, key={"none": 0, "behind": 1, "on track": 2}.get)
    assert [r.code for r in report.flagged][:1] == ["AMER"]  # none held: first
    assert {r.code for r in report.flagged} >= {"AMER", "APAC"}  # APAC: 2 of 5
    assert report.briefings == 3


async def test_feedback_turnaround_and_open_items(
    engine: AsyncEngine, hand_made: dict[str, Region]
) -> None:
    rows = {r.code: r for r in (await q3(engine, hand_made)).regions}
    apac = rows["APAC"]
    # AU: 10 h and 48 h; JP: 6 h -> median of (6, 10, 48) = 10 h. Item 5 is open.
    assert (apac.submitted, apac.decided, apac.median_hours_to_decision) == (4, 3, 10.0)
    assert rows["AU"].median_hours_to_decision == 29.0  # (10 + 48) / 2: an even count
    assert apac.open_by_age == (0, 1, 0)  # item 5: 14 days old on 15 Oct
    assert rows["EMEA"].open_by_age == (0, 1, 0)  # item 4: 25 days old
    assert rows["AMER"].median_hours_to_decision is None


async def test_time_zone_moves_items_across_the_quarter_boundary(
    engine: AsyncEngine, hand_made: dict[str, Region]
) -> None:
    in_utc = {r.code: r for r in (await q3(engine, hand_made, UTC)).regions}["APAC"]
    in_sydney = {r.code: r for r in (await q3(engine, hand_made, SYDNEY)).regions}["APAC"]
    assert (in_utc.submitted, in_sydney.submitted) == (4, 3)


async def test_pm_effort(engine: AsyncEngine, hand_made: dict[str, Region]) -> None:
    pms = {p.pm: p for p in (await q3(engine, hand_made)).pms}
    assert (pms[ALICE].briefings, pms[ALICE].minutes) == (2, 105)
    assert (pms[BRUNO].briefings, pms[BRUNO].people) == (1, 5)
    assert (pms[ALICE].expected, pms[ALICE].period_target) == (3, 3)


async def test_csv_is_exactly_the_rows(engine: AsyncEngine, hand_made: dict[str, Region]) -> None:
    report = await q3(engine, hand_made)
    lines = report.csv().splitlines()
    assert lines[0].startswith(
        "region_code,region,parent_code,briefings,minutes,people,last_briefing,"
        "target_per_quarter,target_for_period,expected_by_now,status"
    )
    apac = next(ln for ln in lines if ln.startswith("APAC,"))
    au = next(ln for ln in lines if ln.startswith("AU,"))
    # APAC's target is 5 a quarter in the demo catalog, AU's 2; Q3 is over: all of it due.
    assert apac == "APAC,Asia Pacific,,2,105,20,2026-08-15,5,5,5,behind,4,3,10.0,0,1,0,0,0,,,"
    assert au == "AU,Australia,APAC,2,105,20,2026-08-15,2,2,2,on track,3,2,29.0,0,1,0,0,0,,,"
    assert len(lines) == 1 + len(report.regions)


async def test_the_csv_links_each_regions_latest_deck(
    engine: AsyncEngine, hand_made: dict[str, Region]
) -> None:
    at = dt.datetime(2026, 9, 30, tzinfo=UTC)
    async with engine.begin() as conn:
        t = BriefingRow.__table__  # type: ignore[attr-defined]
        for i, link in ((1, "https://docs.example.com/july.pdf"),
                        (3, "https://docs.example.com/uk.pdf")):  # fmt: skip
            await conn.execute(sa.update(t).where(t.c.id == i).values(deck=link))
        await conn.execute(
            sa.insert(BriefingDeckRow.__table__).values(  # type: ignore[attr-defined]
                briefing_id=2,
                name="aug.pdf",
                content_type="application/pdf",
                size=3,
                data=b"abc",
                created_at=at,
            )
        )
    report = await q3(engine, hand_made)
    rows = {r.code: r for r in report.regions}
    # AU and APAC: the 15 Aug briefing (a kept copy, no link) is later than 1 July's link.
    assert (rows["AU"].deck, rows["AU"].kept_name) == (None, "aug.pdf")
    assert (rows["APAC"].deck, rows["APAC"].kept_name) == (None, "aug.pdf")
    assert (rows["UK"].deck, rows["UK"].kept_deck) == ("https://docs.example.com/uk.pdf", None)
    assert (rows["EMEA"].deck, rows["AMER"].deck, rows["AMER"].kept_deck) == (
        "https://docs.example.com/uk.pdf", None, None,
    )  # fmt: skip
    lines = report.csv(lambda i, name: f"https://bot.example.com/decks/{i}/{name}").splitlines()
    assert lines[0].endswith(",latest_deck,latest_deck_copy,open_revenue_at_stake")
    au = next(ln for ln in lines if ln.startswith("AU,"))
    assert au.endswith(f",,https://bot.example.com/decks/{rows['AU'].kept_deck}/aug.pdf,")
    uk = next(ln for ln in lines if ln.startswith("UK,"))
    assert uk.endswith(",https://docs.example.com/uk.pdf,,")
    assert Report.decode(report.encode()) == report  # the worker writes the same CSV


# Seconds from submission to decision per region code: odd and even counts, equal values,
# and middle pairs on both sides of an hour (the medians are found hour by hour).
TURNAROUNDS = {
    "AU": (100, 3_700, 7_300),
    "JP": (50, 3_650),
    "APAC": (3_599,),  # filed under APAC itself
    "UK": (10, 10, 20, 3 * 86_400),
}


async def test_medians_are_exact_for_every_region_above_an_item(
    engine: AsyncEngine, repo: Any
) -> None:
    await _regions(engine, repo)
    start = dt.datetime(2026, 7, 1, tzinfo=UTC)
    rows, n = [], 0
    for code, seconds in TURNAROUNDS.items():
        for s in seconds:
            n += 1
            created = start + dt.timedelta(days=n)
            decided = created + dt.timedelta(seconds=s)
            rows.append(item(n, code, created.isoformat(), decided.isoformat(), Status.NOW))
    rows.append(item(90, "AU", "2026-07-03T00:00:00+00:00"))  # open: no turnaround
    before = ("2026-06-30T00:00:00+00:00", "2026-07-01T00:00:00+00:00")  # not in the period
    rows.append(item(91, "JP", *before, Status.NOW))
    async with engine.begin() as conn:
        await conn.execute(sa.insert(FeedbackItemRow.__table__), rows)  # type: ignore[attr-defined]
    shown = ("GLOBAL", "APAC", "AU", "JP", "NZ", "EMEA", "UK", "AMER")
    query = CoverageQuery(
        dt.date(2026, 7, 1), dt.date(2026, 9, 30), start, dt.datetime(2026, 10, 1, tzinfo=UTC),
        NOW, shown,
    )  # fmt: skip
    figures = (await SqlCoverage(engine).coverage_figures(query)).regions
    medians = {code: f.median_seconds_to_decision for code, f in figures.items()}
    apac = (*TURNAROUNDS["AU"], *TURNAROUNDS["JP"], *TURNAROUNDS["APAC"])
    expected = {
        "AU": 3_700.0,  # odd
        "JP": 1_850.0,  # even: (50 + 3650) / 2
        "APAC": 3_624.5,  # AU, JP and its own: (3599 + 3650) / 2, either side of an hour
        "UK": 15.0,  # even, with a tie: (10 + 20) / 2
        "EMEA": 15.0,
        "GLOBAL": 1_849.5,  # every item once: (100 + 3599) / 2
    }
    assert expected["APAC"] == statistics.median(apac)
    assert expected["GLOBAL"] == statistics.median((*apac, *TURNAROUNDS["UK"]))
    assert {code: m for code, m in medians.items() if m is not None} == expected
    assert "NZ" not in figures or figures["NZ"].median_seconds_to_decision is None
    assert "AMER" not in figures
    assert (figures["GLOBAL"].decided, figures["APAC"].decided) == (10, 6)


# ----------------------------------------------------------- the same numbers as Python's


def reference(period_text: str, today: dt.date, regions: dict[str, Region], briefings: list[Any],
              items: list[Any], now: dt.datetime, tz: Any) -> Report:  # fmt: skip
    """The report computed in Python over every row: what the SQL must agree with."""
    period = parse_period(period_text, today)

    def local(at: dt.datetime) -> dt.date:
        return at.astimezone(tz).date()

    def secs(at: dt.datetime) -> int:
        return int(at.timestamp())

    in_period = [b for b in briefings if period.start <= b.held_on <= period.end]
    rows = []
    shown = {r.code for r in report_regions(regions)}
    quarters = 1.0 if period.label.endswith("(to date)") else period.quarters
    for region in report_regions(regions):
        mine = [
            b for b in in_period if any(region.code in region_path(regions, c) for c in b.regions)
        ]
        target = region.briefing_target_per_quarter
        target = 1 if target is None else target
        expected = math.floor(target * period.quarters + 0.5)  # whole briefings, half up
        held = len(mine)
        status = "none" if held == 0 else ("on track" if held >= expected else "behind")
        related = [
            i for i in items if i.region_code and region.code in region_path(regions, i.region_code)
        ]
        submitted = [i for i in related if period.start <= local(i.created_at) <= period.end]
        decided = [i for i in submitted if i.decided_at is not None]
        seconds = [secs(i.decided_at) - secs(i.created_at) for i in decided]
        ages = [(now - i.created_at).days for i in related if i.status == "new"]
        rows.append(RegionRow(
            region.code, region.name, held, sum(b.minutes for b in mine),
            sum(b.people for b in mine), max((b.held_on for b in mine), default=None), target,
            expected, status, len(submitted), len(decided),
            round(statistics.median(seconds) / 3600, 2) if seconds else None,
            (sum(1 for a in ages if a < 7), sum(1 for a in ages if 7 <= a <= 30),
             sum(1 for a in ages if a > 30)),
            period_target=math.floor(target * quarters + 0.5),
            parent=next((c for c in region_path(regions, region.code)[1:] if c in shown), None),
        ))  # fmt: skip
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.name))
    per_pm: dict[str, list[Any]] = {}
    for b in in_period:
        per_pm.setdefault(b.pm_id, []).append(b)
    pms = tuple(sorted(
        (PmRow(pm, len(bs), sum(b.minutes for b in bs), sum(b.people for b in bs),
               math.floor(3 * period.quarters + 0.5), math.floor(3 * quarters + 0.5))
         for pm, bs in per_pm.items()),
        key=lambda p: (-p.briefings, p.pm),
    ))  # fmt: skip
    return Report(period, tuple(rows), pms, len(in_period))


@pytest.mark.parametrize("tz", [UTC, SYDNEY], ids=["utc", "sydney"])
async def test_generated_year_matches_python(engine: AsyncEngine, repo: Any, tz: dt.tzinfo) -> None:
    regions = await _regions(engine, repo)
    await seed_history(engine, items=3000, briefings=400)
    async with engine.connect() as conn:
        items = list(await conn.execute(sa.select(FeedbackItemRow.__table__)))  # type: ignore[attr-defined]
        briefings = list(await conn.execute(sa.select(BriefingRow.__table__)))  # type: ignore[attr-defined]
    assert len(items) == 3000 and len(briefings) == 400
    today = SEEDED_NOW.astimezone(tz).date()
    for text in ("this quarter", "last quarter", "last 365 days", "last 30 days", "2026-Q2"):
        expected = reference(text, today, regions, briefings, items, SEEDED_NOW, tz)
        got = await _sql_report(engine, regions, text, today, SEEDED_NOW, tz)  # type: ignore[arg-type]
        assert got == expected, text
        assert got.csv() == expected.csv()
    # The data exercises what is compared: medians of odd and even counts, every age bucket.
    year = await _sql_report(engine, regions, "last 365 days", today, SEEDED_NOW, tz)  # type: ignore[arg-type]
    assert all(r.median_hours_to_decision is not None for r in year.regions)
    assert all(sum(r.open_by_age[k] for r in year.regions) > 0 for k in range(3))
    assert any(r.decided % 2 == 0 for r in year.regions)
    assert any(r.decided % 2 == 1 for r in year.regions)
