"""Coverage reports on seeded briefings and feedback: exact numbers, flags, medians, CSV,
quarter boundaries and time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.briefings import Briefing
from bot.catalog_file import parse_catalog
from bot.items import Item, Kind, Status, Urgency
from bot.reports import PeriodError, build_report, parse_period
from bot.types import UserRef
from tests.conftest import demo_text

REGIONS = {r.code: r for r in parse_catalog(demo_text()).regions}
UTC = dt.UTC
SYDNEY = ZoneInfo("Australia/Sydney")
ALICE, BRUNO = UserRef("slack", "U01PMALICE"), UserRef("slack", "U01PMBRUNO")


def b(
    i: int, pm: UserRef, day: str, regions: tuple[str, ...], minutes: int, people: int
) -> Briefing:
    return Briefing(
        i, pm, dt.date.fromisoformat(day), regions, None, (), people, (), "Roadmap", None, minutes
    )


def item(
    i: int,
    region: str | None,
    created: str,
    decided: str | None = None,
    status: Status = Status.NEW,
) -> Item:
    at = dt.datetime.fromisoformat(created)
    return Item(
        i,
        f"Item {i}",
        None,
        None,
        Kind.PROBLEM,
        "Acme",
        region,
        None,
        None,
        Urgency.NORMAL,
        "details",
        None,
        None,
        UserRef("slack", "U0SALES"),
        status,
        at,
        decided_at=dt.datetime.fromisoformat(decided) if decided else None,
    )


BRIEFINGS = [
    b(1, ALICE, "2026-07-01", ("AU",), 60, 12),  # first day of Q3
    b(2, ALICE, "2026-08-15", ("AU", "NZ"), 45, 8),
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


def q3(tz: dt.tzinfo = UTC):  # type: ignore[no-untyped-def]
    return build_report(
        period=parse_period("2026-Q3", dt.date(2026, 10, 15)),
        regions=REGIONS,
        briefings=BRIEFINGS,
        items=ITEMS,
        now=NOW,
        tz=tz,
        default_target=1,
        pm_target=3,
    )  # type: ignore[arg-type]


def test_region_numbers_and_flags() -> None:
    report = q3()
    rows = {r.code: r for r in report.regions}
    apac, emea, amer = rows["APAC"], rows["EMEA"], rows["AMER"]
    assert (apac.briefings, apac.minutes, apac.people, apac.last_briefing) == (
        2,
        105,
        20,
        dt.date(2026, 8, 15),
    )
    assert (emea.briefings, emea.minutes, emea.people) == (1, 30, 5)
    assert amer.briefings == 0 and amer.status == "none"  # the Q4 briefing is not counted
    # AU has its own target (2 per quarter in the demo catalog): 2 held -> on track.
    assert (rows["AU"].briefings, rows["AU"].target, rows["AU"].status) == (2, 2, "on track")
    targets = {r.code: r.target for r in report.regions}
    assert emea.status == ("on track" if emea.briefings >= targets["EMEA"] else "behind")
    # Regions needing attention come first.
    statuses = [r.status for r in report.regions]
    assert statuses == sorted(statuses, key={"none": 0, "behind": 1, "on track": 2}.get)
    assert [r.code for r in report.flagged][:1] == ["AMER"]  # none held: first
    assert {r.code for r in report.flagged} >= {"AMER", "APAC"}  # APAC: 2 of 5


def test_feedback_turnaround_and_open_items() -> None:
    rows = {r.code: r for r in q3().regions}
    apac = rows["APAC"]
    # AU: 10 h and 48 h; JP: 6 h -> median of (6, 10, 48) = 10 h. Item 5 is open.
    assert (apac.submitted, apac.decided, apac.median_hours_to_decision) == (4, 3, 10.0)
    assert apac.open_by_age == (0, 1, 0)  # item 5: 14 days old on 15 Oct
    assert rows["EMEA"].open_by_age == (0, 1, 0)  # item 4: 25 days old
    assert rows["AMER"].median_hours_to_decision is None


def test_time_zone_moves_items_across_the_quarter_boundary() -> None:
    in_utc = {r.code: r for r in q3(UTC).regions}["APAC"]
    in_sydney = {r.code: r for r in q3(SYDNEY).regions}["APAC"]
    assert (in_utc.submitted, in_sydney.submitted) == (4, 3)


def test_pm_effort() -> None:
    pms = {p.pm: p for p in q3().pms}
    assert (pms["U01PMALICE"].briefings, pms["U01PMALICE"].minutes) == (2, 105)
    assert (pms["U01PMBRUNO"].briefings, pms["U01PMBRUNO"].people) == (1, 5)
    assert pms["U01PMALICE"].expected == 3.0


def test_csv_is_exactly_the_rows() -> None:
    report = q3()
    lines = report.csv().splitlines()
    assert lines[0].startswith("region_code,region,briefings,minutes,people,last_briefing")
    apac = next(ln for ln in lines if ln.startswith("APAC,"))
    target = REGIONS["APAC"].briefing_target_per_quarter or 1  # 5 in the demo catalog
    status = "on track" if 2 >= target else "behind"
    assert (
        apac == f"APAC,Asia Pacific,2,105,20,2026-08-15,{target},{target:.2f},{status},"
        "4,3,10.0,0,1,0"
    )
    assert len(lines) == 1 + len(report.regions)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("", "2026-10-01", "2026-10-15"),
        ("this quarter", "2026-10-01", "2026-10-15"),
        ("last quarter", "2026-07-01", "2026-09-30"),
        ("2026-Q1", "2026-01-01", "2026-03-31"),
        ("2025q4", "2025-10-01", "2025-12-31"),
        ("last 30 days", "2026-09-16", "2026-10-15"),
    ],
)
def test_periods(text: str, start: str, end: str) -> None:
    p = parse_period(text, dt.date(2026, 10, 15))
    assert (p.start.isoformat(), p.end.isoformat()) == (start, end)


def test_last_quarter_in_january_is_last_years_q4() -> None:
    p = parse_period("last quarter", dt.date(2027, 1, 3))
    assert (p.start, p.end) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))


@pytest.mark.parametrize("text", ["next year", "2027-Q1", "last 0 days", "Q5"])
def test_bad_periods_are_explained(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, dt.date(2026, 10, 15))
