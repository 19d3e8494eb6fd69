"""Coverage reports: briefings per region against target, PM effort, feedback turnaround."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.catalog import CatalogService
from bot.ports import Clock
from bot.receipts import Demand, Receipts
from bot.types import Region

QUARTER_DAYS = 365.25 / 4  # targets are per quarter; "last N days" is pro-rated by days
AGE_BUCKETS = ((7, "< 7 days"), (30, "7–30 days"), (None, "> 30 days"))
STATUS_ORDER = {"none": 0, "behind": 1, "on track": 2}


CHART_ALT = "Briefings per region against target"  # the coverage chart's alternative text


def unlisted_regions(n: int) -> str:
    """Ends a coverage list cut to fit a message."""
    return f"…and {n} more region{'' if n == 1 else 's'}."


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: dt.date  # inclusive, in the report's time zone
    end: dt.date  # inclusive
    quarters: float  # how many quarters' worth of target this period should meet


def _quarter(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    nxt = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, nxt - dt.timedelta(days=1)


def _quarter_period(label: str, start: dt.date, end: dt.date, today: dt.date) -> Period:
    """A calendar quarter; one still running expects the share of its days gone by."""
    if end <= today:
        return Period(label, start, end, 1.0)
    elapsed = (today - start).days + 1
    return Period(f"{label} (to date)", start, today, elapsed / ((end - start).days + 1))


def parse_period(text: str, today: dt.date) -> Period:
    """'this quarter' (default), 'last quarter', '2026-Q3', 'last 30 days'."""
    t = " ".join(text.casefold().split())
    q_now = (today.month - 1) // 3 + 1
    if t in ("", "this quarter", "quarter"):
        start, end = _quarter(today.year, q_now)
        return _quarter_period(f"{today.year}-Q{q_now}", start, end, today)
    if t == "last quarter":
        year, q = (today.year - 1, 4) if q_now == 1 else (today.year, q_now - 1)
        start, end = _quarter(year, q)
        return _quarter_period(f"{year}-Q{q}", start, end, today)
    m = re.fullmatch(r"(\d{4})-?q([1-4])", t)
    if m:
        year, q = int(m[1]), int(m[2])
        start, end = _quarter(year, q)
        if start > today:
            raise PeriodError(f"{year}-Q{q} has not started yet.")
        return _quarter_period(f"{year}-Q{q}", start, end, today)
    m = re.fullmatch(r"last (\d{1,4}) days?", t)
    if m and int(m[1]) > 0:
        n = int(m[1])
        return Period(f"last {n} days", today - dt.timedelta(days=n - 1), today, n / QUARTER_DAYS)
    raise PeriodError("Say “this quarter”, “last quarter”, “2026-Q3” or “last 30 days”.")


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    briefings: int
    minutes: int
    people: int
    last_briefing: dt.date | None
    target: int  # per quarter
    expected: float  # for this period (pro-rated)
    status: str  # "on track" | "behind" | "none"
    submitted: int
    decided: int
    median_hours_to_decision: float | None
    open_by_age: tuple[int, int, int]
    # Demand beside the effort: answers given about the region (and below it) in the
    # period, and how many of them were not Available (bot.receipts.Receipts.demand).
    asked: int = 0
    not_available: int = 0


@dataclass(frozen=True, slots=True)
class PmRow:
    pm: str
    briefings: int
    minutes: int
    people: int
    expected: float


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    regions: tuple[RegionRow, ...]  # behind and none first
    pms: tuple[PmRow, ...]
    briefings: int  # held in the period (one briefing may count for several regions)

    @property
    def flagged(self) -> tuple[RegionRow, ...]:
        return tuple(r for r in self.regions if r.status != "on track")

    @property
    def fallback(self) -> str:
        names = ", ".join(f"{r.name} ({r.status})" for r in self.flagged)
        return (
            f"Coverage {self.period.label}: {self.briefings} "
            f"briefing{'' if self.briefings == 1 else 's'}; "
            + (f"needs attention: {names}" if names else "every region on track")
        )

    def encode(self) -> dict[str, Any]:
        """As JSON, for the worker to draw the chart and CSV of exactly this report."""
        return {
            "period": [self.period.label, self.period.start.isoformat(),
                       self.period.end.isoformat(), self.period.quarters],
            "regions": [
                [getattr(r, f.name) if not isinstance(getattr(r, f.name), dt.date)
                 else getattr(r, f.name).isoformat() for f in fields(RegionRow)]
                for r in self.regions
            ],
            "pms": [astuple(p) for p in self.pms],
            "briefings": self.briefings,
        }  # fmt: skip

    @classmethod
    def decode(cls, raw: Mapping[str, Any]) -> Report:
        label, start, end, quarters = raw["period"]
        period = Period(label, dt.date.fromisoformat(start), dt.date.fromisoformat(end), quarters)
        regions = []
        for values in raw["regions"]:
            # A report encoded before the demand columns existed lacks them: defaults.
            row = dict(zip((f.name for f in fields(RegionRow)), values, strict=False))
            last = row["last_briefing"]
            row["last_briefing"] = dt.date.fromisoformat(last) if last else None
            row["open_by_age"] = tuple(row["open_by_age"])
            regions.append(RegionRow(**row))
        pms = tuple(PmRow(*p) for p in raw["pms"])
        return cls(period, tuple(regions), pms, int(raw["briefings"]))

    def csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "region_code",
                "region",
                "briefings",
                "minutes",
                "people",
                "last_briefing",
                "target_per_quarter",
                "expected",
                "status",
                "feedback_submitted",
                "feedback_decided",
                "median_hours_to_decision",
                "open_lt_7d",
                "open_7_30d",
                "open_gt_30d",
                "questions_asked",
                "answered_not_available",
            ]
        )
        for r in self.regions:
            w.writerow(
                [
                    r.code,
                    r.name,
                    r.briefings,
                    r.minutes,
                    r.people,
                    r.last_briefing.isoformat() if r.last_briefing else "",
                    r.target,
                    f"{r.expected:.2f}",
                    r.status,
                    r.submitted,
                    r.decided,
                    ""
                    if r.median_hours_to_decision is None
                    else f"{r.median_hours_to_decision:.1f}",
                    *r.open_by_age,
                    r.asked,
                    r.not_available,
                ]
            )
        return out.getvalue()


def report_regions(regions: Mapping[str, Region]) -> list[Region]:
    """Top-level regions, and any other region the catalog gives a target."""
    roots = [r.code for r in regions.values() if r.parent is None]
    top = (
        [r for r in regions.values() if r.parent in roots]
        if len(roots) == 1
        else [regions[c] for c in roots]
    )
    extra = [
        r
        for r in regions.values()
        if r.briefing_target_per_quarter is not None and r not in top and r.parent is not None
    ]
    return [*top, *extra]


@dataclass(frozen=True, slots=True)
class CoverageQuery:
    """What the database is asked for one report: every bound computed once, in UTC."""

    start: dt.date  # briefings held on `start` .. `end` (inclusive)
    end: dt.date
    since: dt.datetime  # feedback created in [since, until): the period's days in the report's zone
    until: dt.datetime
    now: dt.datetime  # open feedback is aged against this
    regions: tuple[str, ...] = ()  # the report's regions (bot.reports.report_regions)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """One region's aggregates, counting everything filed under it or a region below it."""

    briefings: int = 0
    minutes: int = 0
    people: int = 0
    last_briefing: dt.date | None = None
    submitted: int = 0
    decided: int = 0
    median_seconds_to_decision: float | None = None
    open_by_age: tuple[int, int, int] = (0, 0, 0)  # < 7 days, 7–30 days, > 30 days


@dataclass(frozen=True, slots=True)
class PmFigures:
    pm: str
    briefings: int
    minutes: int
    people: int


@dataclass(frozen=True, slots=True)
class CoverageFigures:
    """The aggregates a report is drawn from; regions absent have nothing recorded."""

    regions: Mapping[str, RegionFigures]
    pms: tuple[PmFigures, ...]
    briefings: int  # held in the period (one briefing may count for several regions)


def coverage_query(
    period: Period, *, now: dt.datetime, tz: ZoneInfo, regions: Mapping[str, Region]
) -> CoverageQuery:
    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)

    return CoverageQuery(
        period.start,
        period.end,
        midnight(period.start),
        midnight(period.end + dt.timedelta(days=1)),
        now.astimezone(dt.UTC),
        tuple(r.code for r in report_regions(regions)),
    )


def build_report(
    *,
    period: Period,
    regions: Mapping[str, Region],
    figures: CoverageFigures,
    default_target: int,
    pm_target: int,
    demand: Mapping[str, Demand] | None = None,
) -> Report:
    share = period.quarters
    rows = []
    for region in report_regions(regions):
        f = figures.regions.get(region.code, RegionFigures())
        target = region.briefing_target_per_quarter
        target = default_target if target is None else target
        expected = target * share
        if f.briefings == 0:
            status = "none"
        else:
            status = "on track" if f.briefings >= expected - 1e-9 else "behind"
        median = f.median_seconds_to_decision
        asked = (demand or {}).get(region.code, Demand())
        rows.append(
            RegionRow(
                code=region.code,
                name=region.name,
                briefings=f.briefings,
                minutes=f.minutes,
                people=f.people,
                last_briefing=f.last_briefing,
                target=target,
                expected=round(expected, 2),
                status=status,
                submitted=f.submitted,
                decided=f.decided,
                median_hours_to_decision=None if median is None else round(median / 3600, 1),
                open_by_age=f.open_by_age,
                asked=asked.asked,
                not_available=asked.not_available,
            )
        )
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.name))
    pms = tuple(
        sorted(
            (
                PmRow(p.pm, p.briefings, p.minutes, p.people, round(pm_target * share, 2))
                for p in figures.pms
            ),
            key=lambda p: (-p.briefings, p.pm),
        )
    )
    return Report(period, tuple(rows), pms, figures.briefings)


class CoverageReader(Protocol):
    async def coverage_figures(self, query: CoverageQuery) -> CoverageFigures:
        """Aggregated in the database: nothing reads the briefings or feedback rows out."""
        ...


class CoverageService:
    def __init__(
        self,
        *,
        figures: CoverageReader,
        catalog: CatalogService,
        clock: Clock,
        timezone: str = "UTC",
        default_target: int = 1,
        pm_target: int = 3,
        receipts: Receipts | None = None,
    ) -> None:
        self._receipts = receipts
        self._figures = figures
        self._catalog = catalog
        self._clock = clock
        self.tz = ZoneInfo(timezone)
        self.default_target = default_target
        self.pm_target = pm_target

    def today(self) -> dt.date:
        return self._clock.now().astimezone(self.tz).date()

    async def report(self, text: str = "") -> Report:
        """Raises PeriodError with a message for the user when the period is not understood."""
        period = parse_period(text, self.today())
        view = await self._catalog.view()
        regions = view.catalog.regions
        query = coverage_query(period, now=self._clock.now(), tz=self.tz, regions=regions)
        demand = None
        if self._receipts is not None:
            demand = await self._receipts.demand(
                since=query.since, until=query.until, regions=regions
            )
        return build_report(
            period=period,
            regions=regions,
            figures=await self._figures.coverage_figures(query),
            default_target=self.default_target,
            pm_target=self.pm_target,
            demand=demand,
        )
