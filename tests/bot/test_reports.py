"""Report periods: quarters, running quarters and "last N days"; the words a manager reads,
checked against figures worked out by hand (the aggregates themselves are
tests/store/test_coverage.py's, on both databases)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from bot.catalog_file import parse_catalog
from bot.reports import (
    CoverageFigures,
    PeriodError,
    PmFigures,
    RegionFigures,
    Report,
    build_report,
    chart_pages,
    counted,
    duration_text,
    parse_period,
)
from bot.types import Region
from tests.conftest import demo_text

REGIONS = {r.code: r for r in parse_catalog(demo_text()).regions}


def q3(text: str = "2026-Q3", today: dt.date = dt.date(2026, 10, 15)) -> Report:
    """2026-Q3 from figures as the database gives them (tests/store/test_coverage.py
    computes them from rows)."""
    figures = CoverageFigures(
        {
            "APAC": RegionFigures(2, 105, 20, dt.date(2026, 8, 15), 4, 3, 36_000.0, (0, 1, 0)),
            "AU": RegionFigures(2, 105, 20, dt.date(2026, 8, 15), 3, 2, 104_400.0, (0, 1, 0)),
            "EMEA": RegionFigures(1, 30, 5, dt.date(2026, 9, 30), 1, 0, None, (0, 1, 0)),
        },
        (PmFigures("U01PMALICE", 2, 105, 20), PmFigures("U01PMBRUNO", 1, 30, 5)),
        3,
    )
    return build_report(
        period=parse_period(text, today),
        regions=REGIONS,
        figures=figures,
        default_target=1,
        pm_target=3,
    )


def test_figures_become_rows_flagged_first_with_hours() -> None:
    report = q3()
    rows = {r.code: r for r in report.regions}
    assert rows["AMER"].status == "none" and rows["AMER"].submitted == 0  # nothing recorded
    assert (rows["AU"].status, rows["APAC"].status) == ("on track", "behind")  # 2/2, 2/5
    assert (rows["APAC"].median_hours_to_decision, rows["AU"].median_hours_to_decision) == (
        10.0,
        29.0,
    )
    assert report.regions[0].code == "AMER"
    assert [p.pm for p in report.pms] == ["U01PMALICE", "U01PMBRUNO"]
    assert report.fallback.startswith("Coverage 2026-Q3: 3 briefings; needs attention:")


def test_a_report_survives_the_outbox() -> None:
    report = q3()
    assert Report.decode(json.loads(json.dumps(report.encode()))) == report


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


def _row(report: Report, code: str) -> tuple[str, ...]:
    return report.parts(next(r for r in report.regions if r.code == code))


def test_a_finished_quarter_reads_in_whole_briefings() -> None:
    report = q3()
    # Targets per quarter in the demo catalog: APAC 5, AU 2, EMEA 6, AMER 6.
    assert _row(report, "AU") == (
        "2 of 2 in 2026-Q3 — on track",
        "1 h 45 min, 20 people, last 15 Aug",
        "3 feedback items in, 2 decided (median 29 h); waiting: 1 for 7–30 days; "
        "no deal value at stake",
        "0 questions answered, 0 not Available",
    )
    assert _row(report, "APAC")[0] == "2 of 5 in 2026-Q3 — behind"
    assert _row(report, "APAC")[2].startswith("4 feedback items in, 3 decided (median 10 h)")
    assert _row(report, "EMEA") == (
        "1 of 6 in 2026-Q3 — behind",
        "30 min, 5 people, last 30 Sep",
        "1 feedback item in, none decided; waiting: 1 for 7–30 days; no deal value at stake",
        "0 questions answered, 0 not Available",
    )
    assert _row(report, "AMER") == (
        "0 of 6 in 2026-Q3 — none held",
        "0 min, 0 people",
        "0 feedback items in; none waiting; no deal value at stake",
        "0 questions answered, 0 not Available",
    )
    alice, bruno = report.pms
    assert (report.pm_line(alice), report.pm_line(bruno)) == (
        "2 of 3 in 2026-Q3 — behind, 1 h 45 min, 20 people",
        "1 of 3 in 2026-Q3 — behind, 30 min, 5 people",
    )
    assert report.fallback == (
        "Coverage 2026-Q3: 3 briefings; needs attention: Americas (none held), Canada (none "
        "held), France (none held), Germany (none held), India (none held), Japan (none held), "
        "Singapore (none held), United Kingdom (none held), United States (none held), Asia "
        "Pacific (behind), Europe, Middle East and Africa (behind)"
    )
    shown = " ".join(" ".join(report.parts(r)) for r in report.regions)
    assert not any(w in shown for w in (".0", "1 briefings", "1 items", "1 questions", " 0 h"))


def test_revenue_at_stake_adds_up_the_region_tree() -> None:
    report = build_report(
        period=parse_period("2026-Q3", dt.date(2026, 10, 15)),
        regions=REGIONS,
        figures=CoverageFigures({}, (), 0),
        default_target=1,
        pm_target=3,
        revenue={"AU": {"USD": 250_000}, "JP": {"EUR": 90_000, "USD": 5_000}, "UK": {"GBP": 10}},
    )
    # APAC = AU + JP, largest first; EMEA = UK; nothing filed under the Americas.
    assert _row(report, "APAC")[2].endswith("; $255,000 + €90,000 at stake")
    assert _row(report, "AU")[2].endswith("; $250,000 at stake")
    assert _row(report, "EMEA")[2].endswith("; £10 at stake")
    assert _row(report, "AMER")[2].endswith("; no deal value at stake")
    apac = next(ln for ln in report.csv().splitlines() if ln.startswith("APAC,"))
    assert apac.endswith(",USD 255000; EUR 90000")
    assert Report.decode(json.loads(json.dumps(report.encode()))) == report


def test_a_running_quarter_says_what_is_due_by_today() -> None:
    # 15 Nov is day 46 of Q4's 92: half the quarter, so half of each target is due (a half
    # briefing rounds up: AU's 2 → 1, EMEA's 6 → 3, Singapore's 1 → 1 of 1).
    report = q3("this quarter", dt.date(2026, 11, 15))
    assert report.period.label == "2026-Q4 (to date)"
    assert _row(report, "AU")[0] == "2 of 2 this quarter — on track"
    assert _row(report, "APAC")[0] == "2 of 5 this quarter — behind, 3 expected by today"
    assert _row(report, "EMEA")[0] == "1 of 6 this quarter — behind, 3 expected by today"
    assert _row(report, "SG")[0] == "0 of 1 this quarter — none held"
    early = q3("this quarter", dt.date(2026, 10, 20))  # day 20 of 92: 2 × 0.22 → 0 due
    assert _row(early, "AU")[0] == "2 of 2 this quarter — on track"  # nothing more due
    assert _row(early, "EMEA")[0] == "1 of 6 this quarter — on track, 1 expected by today"


def test_last_n_days_prorates_the_quarter_to_whole_briefings() -> None:
    report = q3("last 30 days", dt.date(2026, 10, 15))
    # 30 days of a 91.3-day quarter: EMEA 6 → 1.97 → 2; AU 2 → 0.66 → 1; SG 1 → 0.33 → 0.
    assert _row(report, "EMEA")[0] == "1 of 2 in the last 30 days — behind"
    assert _row(report, "AU")[0] == "2 of 1 in the last 30 days — on track"
    assert _row(report, "SG")[0] == (
        "0 briefings in the last 30 days — none held (target 1 a quarter)"
    )


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (None, "—"),
        (0.0, "under a minute"),
        (0.01, "under a minute"),
        (0.25, "15 min"),
        (1.5, "1.5 h"),
        (10.0, "10 h"),
        (29.0, "29 h"),
        (48.0, "48 h"),
        (49.0, "2 days"),
        (60.0, "2.5 days"),
        (24 * 30, "30 days"),
    ],
)
def test_durations_become_days_past_48_hours(hours: float | None, text: str) -> None:
    assert duration_text(hours) == text


def test_counts_are_grammatical() -> None:
    assert [counted(n, "briefing") for n in (0, 1, 2)] == ["0 briefings", "1 briefing",
                                                           "2 briefings"]  # fmt: skip
    assert counted(1, "person", "people") == "1 person"
    assert counted(3, "person", "people") == "3 people"


def _tree(n: int) -> dict[str, Region]:
    """GLOBAL > R0..R{k} > C{i}: about a tenth of the regions are parents."""
    regions = {"GLOBAL": Region("GLOBAL", "Global")}
    parents = max(1, n // 10)
    for p in range(parents):
        regions[f"R{p}"] = Region(f"R{p}", f"Region {p:03d}", parent="GLOBAL")
    for c in range(n - parents):
        regions[f"C{c}"] = Region(
            f"C{c}", f"Country {c:03d}", parent=f"R{c % parents}", briefing_target_per_quarter=1
        )
    return regions


def test_chart_pages_group_children_under_their_parent_and_fit_a_page() -> None:
    regions = _tree(250)
    report = build_report(
        period=parse_period("2026-Q3", dt.date(2026, 10, 15)),
        regions=regions,
        figures=CoverageFigures({}, (), 0),
        default_target=1,
        pm_target=3,
    )
    pages = chart_pages(report.regions)
    flat = [r for page in pages for r in page]
    assert sorted(r.code for r in flat) == sorted(r.code for r in report.regions)  # each once
    assert all(len(page) <= 30 for page in pages) and len(pages) > 1
    for page in pages:  # a page starts with a parent (or a group continued from the last page)
        for before, r in itertools.pairwise(page):
            if r.parent is not None:  # a child follows its parent or a sibling
                assert before.code == r.parent or before.parent == r.parent
    # A group that fits a page is never split across two.
    for p in range(25):
        group = {f"R{p}", *(f"C{c}" for c in range(225) if c % 25 == p)}
        assert sum(1 for page in pages if group & {r.code for r in page}) == 1
