"""Report periods: quarters, running quarters and "last N days" (the numbers themselves are
tests/store/test_coverage.py's, on both databases)."""

from __future__ import annotations

import datetime as dt
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
    parse_period,
)
from tests.conftest import demo_text

REGIONS = {r.code: r for r in parse_catalog(demo_text()).regions}


def q3() -> Report:
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
        period=parse_period("2026-Q3", dt.date(2026, 10, 15)),
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
